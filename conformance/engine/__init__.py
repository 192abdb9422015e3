"""The engine: run settings, the harness every adapter call goes through, the run loop, verdicts, events, expected failures and replay."""
