"""The application layer, shared by the command line and the windows (no Qt).

``host`` runs a receiver (token store, embedded room service, LAN advert, the link to show);
``target`` resolves where a sender casts (code, link, discovery with retry) and starts the
source and session for a quality preset; ``words`` holds every sentence either presenter
shows, in plain English, marked for translation; ``platform`` keeps operating-system
differences in one place.
"""
