"""The room service: cast codes, pairing and the relay of WebRTC negotiation."""
