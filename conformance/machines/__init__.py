"""The Hypothesis state machines, their input strategies and the structured violations they raise."""
