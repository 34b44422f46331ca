"""The HR roster: the field catalogue (``catalogue``), reads (``records``), writes (``writes``),
the employee lists and pre-hires (``employees``)."""
