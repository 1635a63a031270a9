"""The few colours the widgets use for states and messages, in one place."""

ERROR_STYLE = "color: #b00020;"
OK_STYLE = "color: #1b6e2f;"
MUTED_STYLE = "color: #555;"
LEVEL_STYLE = {"info": "", "warning": "color: #8a5a00;", "error": ERROR_STYLE + " font-weight: bold;"}
STATE_STYLE = {"ready": OK_STYLE, "starting": MUTED_STYLE, "error": ERROR_STYLE, "stopped": MUTED_STYLE}
