"""The collector: the in-process store of what arrived (the truth), its HTTP front end on 127.0.0.1 and the vendors' wire formats."""
