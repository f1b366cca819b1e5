"""The circuit events function: the table's stream becomes "Circuit State Change" events on EventBridge."""
