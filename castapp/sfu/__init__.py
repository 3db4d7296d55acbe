"""Casting through an SFU: one upload from the sender, Janus VideoRoom forwards to receivers."""
