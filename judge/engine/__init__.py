"""Running an evaluation: planning, the concurrent runner, resume, estimates and progress."""
