"""Fused multiply-add: ``a * b + c`` with a single rounding (IEEE 754 fusedMultiplyAdd)."""
from __future__ import annotations

import math
from fractions import Fraction

from numba import config, types
from numba.extending import intrinsic


def _fma_python(a, b, c):
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c
    return float(Fraction(a) * Fraction(b) + Fraction(c))


if config.DISABLE_JIT:
    fma = _fma_python
else:
    @intrinsic
    def fma(typingctx, a, b, c):
        """``a * b + c`` rounded once: LLVM's ``llvm.fma.f64`` (one instruction where the
        processor has FMA, a correctly rounded library call elsewhere)."""
        from llvmlite import ir

        if not all(isinstance(x, types.Float) for x in (a, b, c)):
            return None

        def codegen(context, builder, signature, args):
            d = ir.DoubleType()
            fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
            return builder.call(fn, [context.cast(builder, x, t, types.float64) for x, t in zip(args, signature.args)])

        return types.float64(types.float64, types.float64, types.float64), codegen
