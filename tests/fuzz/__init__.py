"""Coverage-guided fuzzing harnesses (atheris); run with `make fuzz`, never collected by pytest."""
