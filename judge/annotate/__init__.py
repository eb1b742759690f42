"""The annotation page: label a dataset's items on a rubric's 0-4 scale in the browser, blind, each
label durable in a labels file the moment it is given (``empathy-judge annotate``)."""
