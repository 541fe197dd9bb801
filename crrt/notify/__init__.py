"""The outbox: side effects (mail, webhooks) written with the change, delivered by the worker."""
