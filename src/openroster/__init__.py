"""openroster: a people directory and HR roster server speaking WPS 365 v7 and DingTalk."""

__version__ = "0.1.0"
