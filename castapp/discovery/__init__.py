"""Finding a receiver on the LAN by its cast code: mDNS/DNS-SD adverts and browsing.

- ``record``: the TXT record, name and version only (pure).
- ``probe``: the online code check with a candidate's service (SPAKE2).
- ``interfaces``: which addresses to advertise and show (pure, plus the real list).
- ``mdns``: :class:`~castapp.discovery.mdns.Advertiser` and
  :func:`~castapp.discovery.mdns.find_receiver` over zeroconf.
"""
