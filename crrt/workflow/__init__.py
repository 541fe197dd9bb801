"""State machines: the states of a record, the moves allowed between them, who may make each,
and deadlines; every move audited."""
