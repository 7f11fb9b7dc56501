"""The kernels mambaboot built, against their pure-PyTorch references.

Run by tests/gpu/run.sh through `mambaboot run --prefix P -- python3 check.py`,
so that the prefix's site-packages are on PYTHONPATH.  Every check runs,
each prints PASS or FAIL with its largest error; the exit status is 1 when
any failed.

Why mamba_ssm's package root is not imported: mamba_ssm/__init__.py imports
mamba_ssm.models.mixer_seq_simple, which imports transformers' generation
utilities; transformers 5 (on the GPU host) removed GreedySearchDecoderOnlyOutput,
so `import mamba_ssm` fails there (the trap the `mamba` stack's
transformers==4.38.2 pin avoids).  The modules below the root need no
transformers, so the package is registered without running its __init__
and mamba_ssm.ops... / mamba_ssm.modules.mamba_simple are imported from it.
"""
import importlib.util
import os
import subprocess
import sys
import time
import traceback
import types

import torch
import torch.nn.functional as F

PREFIX = os.environ["CONDA_PREFIX"]
failures = []


def report(name, ok, detail):
    print(("PASS " if ok else "FAIL ") + name + ": " + detail, flush=True)
    if not ok:
        failures.append(name)


def rel_err(out, ref):
    out, ref = out.float(), ref.float()
    return ((out - ref).abs().max() / ref.abs().max().clamp_min(1e-6)).item()


def close(name, out, ref, rtol, atol):
    err = (out.float() - ref.float()).abs().max().item()
    ok = torch.allclose(out.float(), ref.float(), rtol=rtol, atol=atol)
    report(name, ok, "max abs err %.3g, max rel err %.3g (rtol %g, atol %g)"
           % (err, rel_err(out, ref), rtol, atol))


def close_rel(name, out, ref, tol):
    """Passes when the largest error is within tol of the reference's largest value."""
    err = rel_err(out, ref)
    report(name, err <= tol, "max abs err %.3g, max rel err %.3g (tol %g)"
           % ((out.float() - ref.float()).abs().max().item(), err, tol))


def check(fn):
    """Run one check; an exception is a failure, not the end of the run."""
    start = time.time()
    try:
        fn()
    except Exception:
        traceback.print_exc()
        report(fn.__name__, False, "raised")
    print("     (%s: %.1f s)" % (fn.__name__, time.time() - start), flush=True)


def package_without_init(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ImportError(name + " is not importable")
    pkg = types.ModuleType(name)
    pkg.__path__ = list(spec.submodule_search_locations)
    pkg.__file__ = spec.origin
    sys.modules[name] = pkg
    return spec


def where_installed():
    for name in ("causal_conv1d", "causal_conv1d_cuda", "selective_scan_cuda"):
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec else None
        report("%s comes from the prefix" % name,
               bool(origin) and os.path.realpath(origin).startswith(os.path.realpath(PREFIX)),
               str(origin))
    # The stand-in package above has no __spec__: find_spec would raise.
    mod = sys.modules.get("mamba_ssm")
    origin = getattr(mod, "__file__", None) if mod else importlib.util.find_spec("mamba_ssm").origin
    report("mamba_ssm comes from the prefix",
           bool(origin) and os.path.realpath(origin).startswith(os.path.realpath(PREFIX)), str(origin))
    try:
        r = subprocess.run([sys.executable, "-c", "import mamba_ssm"], capture_output=True,
                           text=True, timeout=120)
        last = (r.stderr.strip().splitlines() or ["ok"])[-1]
        print("INFO `import mamba_ssm` (package root, needs transformers): exit %d: %s"
              % (r.returncode, last), flush=True)
    except subprocess.TimeoutExpired:
        print("INFO `import mamba_ssm` did not finish in 120 s", flush=True)


def causal_conv1d_vs_conv1d():
    from causal_conv1d import causal_conv1d_fn
    torch.manual_seed(0)
    for activation in (None, "silu"):
        for width in (2, 3, 4):
            x = torch.randn(2, 64, 300, device="cuda")
            w = torch.randn(64, width, device="cuda")
            b = torch.randn(64, device="cuda")
            out = causal_conv1d_fn(x, w, b, activation=activation)
            ref = F.conv1d(x, w.unsqueeze(1), b, padding=width - 1, groups=64)[..., :300]
            if activation == "silu":
                ref = F.silu(ref)
            close("causal_conv1d_fn fp32 width %d %s vs padded depthwise F.conv1d"
                  % (width, activation), out, ref, 3e-4, 1e-3)


def scan_inputs(itype, seed):
    torch.manual_seed(seed)
    b, d, n, L = 2, 64, 16, 512
    dev = "cuda"
    u = torch.randn(b, d, L, device=dev, dtype=itype, requires_grad=True)
    delta = (0.5 * torch.rand(b, d, L, device=dev, dtype=itype)).requires_grad_()
    A = (-0.5 * torch.rand(d, n, device=dev)).requires_grad_()
    B = torch.randn(b, n, L, device=dev, dtype=itype, requires_grad=True)
    C = torch.randn(b, n, L, device=dev, dtype=itype, requires_grad=True)
    D = torch.randn(d, device=dev, requires_grad=True)
    z = torch.randn(b, d, L, device=dev, dtype=itype, requires_grad=True)
    delta_bias = (0.5 * torch.rand(d, device=dev)).requires_grad_()
    return [u, delta, A, B, C, D, z, delta_bias]


def selective_scan(itype, rtol, atol, grad_tol):
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn, selective_scan_ref
    args = scan_inputs(itype, 1)
    ref_args = [a.detach().clone().requires_grad_() for a in args]
    out = selective_scan_fn(*args[:6], z=args[6], delta_bias=args[7], delta_softplus=True)
    ref = selective_scan_ref(*ref_args[:6], z=ref_args[6], delta_bias=ref_args[7],
                             delta_softplus=True)
    name = "selective_scan_fn %s vs selective_scan_ref" % str(itype).replace("torch.", "")
    close(name + " (forward)", out, ref, rtol, atol)
    g = torch.randn_like(out)
    out.backward(g)
    ref.backward(g)
    for label, a, r in zip(("u", "delta", "A", "B", "C", "D", "z", "delta_bias"), args, ref_args):
        close_rel("%s (grad %s)" % (name, label), a.grad, r.grad, grad_tol)


def selective_scan_fp32():
    selective_scan(torch.float32, 6e-4, 2e-3, 5e-3)


def selective_scan_bf16():
    selective_scan(torch.bfloat16, 3e-2, 5e-2, 5e-2)


def mamba_inner():
    from mamba_ssm.ops.selective_scan_interface import mamba_inner_fn, mamba_inner_ref
    torch.manual_seed(2)
    dev, b, dim, L, n, rank = "cuda", 2, 64, 256, 16, 4
    xz = torch.randn(b, 2 * dim, L, device=dev, requires_grad=True)
    conv_w = torch.randn(dim, 1, 4, device=dev, requires_grad=True)
    conv_b = torch.randn(dim, device=dev, requires_grad=True)
    x_proj = (0.1 * torch.randn(rank + 2 * n, dim, device=dev)).requires_grad_()
    dt_proj = (0.1 * torch.randn(dim, rank, device=dev)).requires_grad_()
    out_proj = (0.1 * torch.randn(dim, dim, device=dev)).requires_grad_()
    A = (-0.5 * torch.rand(dim, n, device=dev)).requires_grad_()
    D = torch.randn(dim, device=dev, requires_grad=True)
    delta_bias = (0.5 * torch.rand(dim, device=dev)).requires_grad_()
    args = [xz, conv_w, conv_b, x_proj, dt_proj, out_proj, None, A, None, None, D, delta_bias]
    ref_args = [a.detach().clone().requires_grad_() if a is not None else None for a in args]
    out = mamba_inner_fn(*args, delta_softplus=True)
    ref = mamba_inner_ref(*ref_args, delta_softplus=True)
    close("mamba_inner_fn vs mamba_inner_ref (forward)", out, ref, 6e-4, 2e-3)
    g = torch.randn_like(out)
    out.backward(g)
    ref.backward(g)
    close_rel("mamba_inner_fn vs mamba_inner_ref (grad xz)", xz.grad, ref_args[0].grad, 5e-3)


def mamba_block():
    from mamba_ssm.modules.mamba_simple import Mamba
    torch.manual_seed(3)
    fast = Mamba(d_model=64, d_state=16, d_conv=4, expand=2, use_fast_path=True).cuda()
    slow = Mamba(d_model=64, d_state=16, d_conv=4, expand=2, use_fast_path=False).cuda()
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(2, 128, 64, device="cuda", requires_grad=True)
    x_slow = x.detach().clone().requires_grad_()
    out, out_slow = fast(x), slow(x_slow)
    report("Mamba block output shape", out.shape == x.shape, str(tuple(out.shape)))
    close("Mamba block forward: fast path vs slow path", out, out_slow, 1e-3, 1e-3)
    g = torch.randn_like(out)
    out.backward(g)
    out_slow.backward(g)
    close_rel("Mamba block backward: grad of the input", x.grad, x_slow.grad, 5e-3)
    for (name, p), (_, q) in zip(fast.named_parameters(), slow.named_parameters()):
        close_rel("Mamba block backward: grad of %s" % name, p.grad, q.grad, 5e-3)


def main():
    print("torch %s, CUDA %s, device %s (sm_%d%d)" % (
        torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0),
        *torch.cuda.get_device_capability(0)), flush=True)
    try:  # before anything imports mamba_ssm.ops (see the docstring)
        package_without_init("mamba_ssm")
    except Exception as e:
        report("mamba_ssm is importable from the prefix", False, repr(e))
        return 1
    for fn in (where_installed, causal_conv1d_vs_conv1d, selective_scan_fp32,
               selective_scan_bf16, mamba_inner, mamba_block):
        check(fn)
    print("%d check(s) failed: %s" % (len(failures), ", ".join(failures)) if failures
          else "all checks passed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
