"""The hostile suite (issue 9): everything that arrives by git is untrusted.

Each case is delivered the way an attacker would deliver it (committed in one clone, pushed to a
real bare remote, pulled into a victim clone that ran ``gitstore install``), or, for what git
cannot carry (FIFOs, sockets, I/O errors), made locally or injected. Then the victim runs an
ordinary command and the harness in ``conftest.py`` checks the same invariants for every case:
the exact exit code, one clear error line naming the offending path, no traceback or crash, no
hang, no byte changed outside the store's data files, and no lock left held.
"""
