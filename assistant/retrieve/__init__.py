"""Finding the sentences that answer a question: hybrid search and its fusion (search.py), the filters
(filters.py), answer-type evidence (answer_type.py) and when to refuse (refusal.py)."""
