"""Getting a verdict text from a judge: the Judge protocol and its structured request, the
registry that finds a judge's backend by its model string's prefix, the backends (LiteLLM with its
retries, rate limits and response-format negotiation; the offline judges), middleware that wraps
any judge (cache, budget) and prices.
"""
