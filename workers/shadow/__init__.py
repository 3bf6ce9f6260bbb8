"""Shadow runs (issue 25 item 4): a hook's draft run on a share of its live
events, after the live run and on its tape, on a lane of its own (the
``shadow`` queue and worker node), so live work never waits for them.
``offer`` is the executor's side, ``runner`` the shadow worker's."""
