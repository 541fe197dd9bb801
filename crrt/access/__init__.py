"""Who may do what: the principal, the permissions and their rules, TLP 2.0, named recipients.

The shared layer every domain stands on: a domain declares where a record keeps its owner,
subject, marking and team, and asks the policy; it never decides access itself.
"""
