"""Tools for truelabel's developers (reference-doc generation); not used at run time."""
