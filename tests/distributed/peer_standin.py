"""The stand-in collective of the one-process distributed tests
(test_agreement.py, test_backup_roles.py).

`install(monkeypatch)` makes this process index 0 of 2 (the writer) and
replaces the gather of the agreement rows with one that plays the peer's
row: the peer sends `peer["stop"]` and `peer["error"]` (a message, empty for
none). Returns `(peer, sent)`: the dict to set and the list of the rows this
process sent, one per agreement.
"""

import numpy as np

from fastcallbacks import _collective, _roles


def install(monkeypatch):
    peer = {"stop": 0.0, "error": ""}
    sent = []
    monkeypatch.setattr(_roles, "process_info", lambda model=None: (2, 0, True))

    def gather(model, row):
        sent.append(np.array(row))
        text = peer["error"].encode()
        other = np.zeros_like(row)
        other[:4] = [1.0, peer["stop"], float(bool(text)), len(text)]
        other[4:4 + len(text)] = np.frombuffer(text, np.uint8)
        return np.stack([row, other])

    monkeypatch.setattr(_collective, "gather_rows", gather)
    monkeypatch.setattr(_collective, "engine_name", lambda model: "fake")
    return peer, sent
