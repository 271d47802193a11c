"""A triangular matrix product that lets other Python threads run meanwhile.

SciPy's ``scipy.linalg.blas`` wrappers hold the GIL while BLAS computes, so two threads
calling ``trmm`` take turns.  The sampling engine colours chunks of standard normals on
several threads (each BLAS call on one thread, so there is no oversubscription and no
spinning BLAS workers between calls); for that, :func:`trmm_rows_inplace` calls the same
BLAS routine through the C pointer that ``scipy.linalg.cython_blas`` exports, with ctypes,
which releases the GIL for the call.  The pointer is used only when its C signature is the
one expected and a small product through it matches the wrapper's; otherwise (or without
ctypes) the wrapper is used and the results are the same, only serialised.
"""

from __future__ import annotations

import threading

import numpy as np
from scipy import linalg

_SIGNATURE = b"void (char *, char *, char *, char *, int *, int *, "
_KERNELS: dict = {}
_LOCK = threading.Lock()


def _pointer_kernel(prefix: str):
    """``prefix + "trmm"`` from scipy.linalg.cython_blas as a ctypes function, or None."""
    try:
        import ctypes

        from scipy.linalg import cython_blas

        capsule = cython_blas.__pyx_capi__[prefix + "trmm"]
        # private prototypes: the shared ctypes.pythonapi ones are left as they are
        get_name = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(
            ("PyCapsule_GetName", ctypes.pythonapi)
        )
        get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
            ("PyCapsule_GetPointer", ctypes.pythonapi)
        )
        name = get_name(capsule)
        if not name or not name.startswith(_SIGNATURE):
            return None
        address = get_pointer(capsule, name)
        if not address:
            return None
        real = ctypes.c_double if prefix == "d" else ctypes.c_float
        integer = ctypes.POINTER(ctypes.c_int)
        signature = ctypes.CFUNCTYPE(
            None,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            integer,
            integer,
            ctypes.POINTER(real),
            ctypes.c_void_p,
            integer,
            ctypes.c_void_p,
            integer,
        )
        function = signature(address)
    except Exception:  # pragma: no cover - any surprise: use SciPy's wrapper instead
        return None

    def trmm(L: np.ndarray, Z: np.ndarray) -> None:
        # C-ordered Z (m, d) is Z^T (d, m) to Fortran and C-ordered L is L^T (upper):
        # Z^T <- op(L^T) Z^T with op = transpose, i.e. Z <- Z L^T.
        m, d = Z.shape
        rows, width = ctypes.c_int(m), ctypes.c_int(d)
        one = real(1.0)
        function(
            b"L",
            b"U",
            b"T",
            b"N",
            ctypes.byref(width),
            ctypes.byref(rows),
            ctypes.byref(one),
            L.ctypes.data,
            ctypes.byref(width),
            Z.ctypes.data,
            ctypes.byref(width),
        )

    return trmm


def _wrapper_trmm(L: np.ndarray, Z: np.ndarray) -> None:
    """``Z <- Z L^T`` through scipy.linalg.blas (holds the GIL)."""
    (trmm,) = linalg.get_blas_funcs(("trmm",), (L,))
    out = trmm(1.0, L.T, Z.T, side=0, lower=0, trans_a=1, diag=0, overwrite_b=1)
    if not np.shares_memory(out, Z):  # pragma: no cover - the wrapper had to copy
        Z[...] = out.T


def _checked_kernel(dtype: np.dtype):
    """The GIL-free kernel for ``dtype`` if it agrees with the wrapper, else the wrapper."""
    with _LOCK:
        if dtype in _KERNELS:
            return _KERNELS[dtype]
        kernel = _pointer_kernel("d" if dtype == np.float64 else "s")
        if kernel is not None:
            rng = np.random.default_rng(0)
            L = np.tril(rng.uniform(0.5, 1.5, size=(7, 7))).astype(dtype)
            Z = rng.standard_normal((5, 7)).astype(dtype)
            expected, got = Z.copy(), Z.copy()
            _wrapper_trmm(L, expected)
            try:
                kernel(L, got)
            except Exception:  # pragma: no cover
                kernel = None
            else:
                tolerance = 1e-5 if dtype == np.float32 else 1e-12
                if not np.allclose(got, expected, rtol=tolerance, atol=tolerance):
                    kernel = None  # pragma: no cover - a BLAS we do not understand
        _KERNELS[dtype] = kernel if kernel is not None else _wrapper_trmm
        return _KERNELS[dtype]


def trmm_rows_inplace(L: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """``Z L^T`` written over ``Z``: one BLAS trmm, half the flops of a general product.

    Parameters
    ----------
    L : ndarray of shape (d, d)
        Lower triangular, float32 or float64 (the upper triangle is not read).
    Z : ndarray of shape (m, d)
        C-contiguous, of ``L``'s dtype; overwritten.

    Returns
    -------
    Z
    """
    if Z.size == 0:
        return Z
    L = np.ascontiguousarray(L)
    if not (Z.flags.c_contiguous and L.dtype == Z.dtype and L.dtype in (np.float32, np.float64)):
        raise ValueError("trmm_rows_inplace needs a C-contiguous Z and one float dtype")
    if max(Z.shape) >= 2**31:  # pragma: no cover - beyond a C int: the wrapper copes
        _wrapper_trmm(L, Z)
    else:
        _checked_kernel(np.dtype(L.dtype))(L, Z)
    return Z
