"""Getting a verdict text from a judge: the LiteLLM client with its retries, plus middleware
(cache, budget, rate limits) and prices.
"""
