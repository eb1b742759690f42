"""What an evaluation is made of: datasets and sampling, run configs, rubrics, prompt templates,
and a rubric's verdict contract.
"""
