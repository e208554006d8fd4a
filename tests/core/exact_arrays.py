"""The exact-equality check of arrays read back from an .npz file."""

import numpy as np


def assert_array_identical(got, want, err_msg=""):
    """`got` (read back) is `want` (written): same shape, same dtype, same
    bytes in C order. Stricter than np.testing.assert_array_equal (which
    also accepts another dtype or a broadcast shape holding equal values,
    and -0.0 for 0.0), and one C-level comparison instead of its several
    Python-level passes (the file round-trip tests make tens of thousands
    of these checks). On a mismatch, assert_array_equal's report."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape == want.shape and got.dtype == want.dtype and got.tobytes() == want.tobytes():
        return
    np.testing.assert_array_equal(got, want, err_msg=err_msg)
    raise AssertionError(f"{err_msg}: equal values, but read {got.dtype} {got.shape}, "
                         f"wrote {want.dtype} {want.shape} (or other bytes)")
