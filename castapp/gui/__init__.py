"""The desktop windows: a thin Qt layer over :mod:`castapp.session`."""
