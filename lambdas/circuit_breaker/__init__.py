"""The circuit rules shared by every handler and by the operator command (`circuitctl`)."""
