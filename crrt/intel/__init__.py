"""Intel sharing: a STIX 2.1 store, sharing groups as collections, TLP 2.0 on every way out."""
