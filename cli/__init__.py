"""The ``fastnn`` command line (click).  Parses, calls :mod:`fastnn`, prints."""
