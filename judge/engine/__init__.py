"""Running an evaluation: the plan (``Plan``), the async core and its sync form (``evaluate_async``,
``evaluate``), the concurrent runner, resume, estimates and progress."""
