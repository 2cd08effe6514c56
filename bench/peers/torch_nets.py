#!/usr/bin/env python3
"""The engine's preset networks in PyTorch, with the same parameter names (state_dict keys) and layouts, and
safetensors read/written with NumPy (Debian's torch 1.13 has no safetensors). Used by the interop test
(test/train/torch-interop.test.ts) and the training benchmark peers.

Commands (each prints one JSON object on stdout):
  eval   --model NAME [--width W] --weights FILE --mnist DIR [--pad P]
         test loss and accuracy of the weights on the MNIST test set (IDX files in DIR)
  train  --model NAME [--width W] --mnist DIR --steps N --lr LR --momentum M --batch B --seed S --out FILE
         SGD in PyTorch, then the weights written as safetensors, and its own test accuracy
  steps  --model NAME [--width W] --shape C,H,W --classes K --batch B --threads T [--budget SECONDS]
         training steps per second on random data (the benchmark peer)
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np

DTYPES = {'F32': np.float32, 'F64': np.float64, 'I32': np.int32, 'U32': np.uint32, 'I64': np.int64, 'U8': np.uint8}


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        out[name] = np.frombuffer(raw[base + begin:base + end], dtype=DTYPES[info['dtype']]).reshape(info['shape']).copy()
    return out, header.get('__metadata__', {})


def write_safetensors(path, tensors, metadata=None):
    names = sorted(tensors)
    header, offset, blobs = {}, 0, []
    inverse = {v: k for k, v in DTYPES.items()}
    for name in names:
        a = np.ascontiguousarray(tensors[name])
        data = a.tobytes()
        header[name] = {'dtype': inverse[a.dtype.type], 'shape': list(a.shape), 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    if metadata:
        header['__metadata__'] = metadata
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def scale(c, width):
    return max(1, int(math.floor(c * width + 0.5)))  # JS Math.round, not Python's banker's rounding


def build(torch, name, width, in_shape, classes):
    nn, F = torch.nn, torch.nn.functional
    c, h, w = in_shape

    class MnistCnn(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(c, 32, 3, padding=1)
            self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
            self.fc = nn.Linear(64 * (h // 4) * (w // 4), classes)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            return self.fc(torch.flatten(x, 1))

    class Vgg16(nn.Module):
        def __init__(self):
            super().__init__()
            stages = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]
            k, prev = 0, c
            for stage in stages:
                for ch in stage:
                    k += 1
                    setattr(self, f'conv{k}', nn.Conv2d(prev, scale(ch, width), 3, padding=1))
                    prev = scale(ch, width)
            self.fc14 = nn.Linear(prev, scale(512, width))
            self.fc15 = nn.Linear(scale(512, width), scale(512, width))
            self.fc16 = nn.Linear(scale(512, width), classes)
            self.pools = {2, 4, 7, 10, 13}

        def forward(self, x):
            for k in range(1, 14):
                x = F.gelu(getattr(self, f'conv{k}')(x))
                if k in self.pools:
                    x = F.max_pool2d(x, 2)
            x = torch.flatten(x, 1)
            x = F.gelu(self.fc14(x))
            x = F.gelu(self.fc15(x))
            return self.fc16(x)

    class Block(nn.Module):
        def __init__(self, inp, out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(out)
            self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(out)
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out)) if stride != 1 or inp != out else None

        def forward(self, x):
            y = F.gelu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.gelu(y + (self.downsample(x) if self.downsample is not None else x))

    class Resnet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(c, scale(64, width), 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(scale(64, width))
            prev = scale(64, width)
            for i, ch in enumerate([64, 128, 256, 512]):
                out = scale(ch, width)
                blocks = [Block(prev, out, 1 if i == 0 else 2), Block(out, out, 1)]
                setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
                prev = out
            self.fc = nn.Linear(prev, classes)

        def forward(self, x):
            x = F.gelu(self.bn1(self.conv1(x)))
            for i in range(1, 5):
                x = getattr(self, f'layer{i}')(x)
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    return {'mnist-cnn': MnistCnn, 'vgg16': Vgg16, 'resnet18': Resnet18}[name]()


def read_idx(path):
    with open(path, 'rb') as f:
        raw = f.read()
    magic, count = struct.unpack('>II', raw[:8])
    if magic == 2051:
        rows, cols = struct.unpack('>II', raw[8:16])
        return np.frombuffer(raw[16:], dtype=np.uint8).reshape(count, rows, cols)
    return np.frombuffer(raw[8:], dtype=np.uint8)


def mnist(directory, split, pad):
    prefix = 't10k' if split == 'test' else 'train'
    names = os.listdir(directory)
    pick = lambda kind: os.path.join(directory, next(n for n in names if n.startswith(f'{prefix}-{kind}')))
    images = (read_idx(pick('images')).astype(np.float32) / 255 - 0.1307) / 0.3081
    if pad:
        images = np.pad(images, ((0, 0), (pad, pad), (pad, pad)), constant_values=(0 - 0.1307) / 0.3081)
    return images[:, None, :, :].copy(), read_idx(pick('labels')).astype(np.int64)


def evaluate(torch, model, images, labels):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(labels), 1000):
            x, y = torch.from_numpy(images[i:i + 1000]), torch.from_numpy(labels[i:i + 1000])
            logits = model(x)
            loss += torch.nn.functional.cross_entropy(logits, y, reduction='sum').item()
            correct += (logits.argmax(1) == y).sum().item()
    return {'testLoss': loss / len(labels), 'testAccuracy': correct / len(labels)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['eval', 'train', 'steps'])
    ap.add_argument('--model', default='mnist-cnn')
    ap.add_argument('--width', type=float, default=1.0)
    ap.add_argument('--weights')
    ap.add_argument('--mnist')
    ap.add_argument('--pad', type=int, default=0)
    ap.add_argument('--steps', type=int, default=100)
    ap.add_argument('--lr', type=float, default=0.05)
    ap.add_argument('--momentum', type=float, default=0.9)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--out')
    ap.add_argument('--shape', default='1,28,28')
    ap.add_argument('--classes', type=int, default=10)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--budget', type=float, default=5.0)
    args = ap.parse_args()
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
        os.environ[var] = str(args.threads)
    try:
        import torch
    except Exception as error:
        print(json.dumps({'missing': f'torch not importable by {sys.executable}: {error}'}))
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    if args.command == 'steps':
        shape = tuple(int(v) for v in args.shape.split(','))
        model = build(torch, args.model, args.width, shape, args.classes)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(args.batch, *shape)
        y = torch.randint(0, args.classes, (args.batch,))
        samples = []

        def step():
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        for _ in range(3):
            step()
        start = time.perf_counter()
        while time.perf_counter() - start < args.budget or len(samples) < 5:
            t0 = time.perf_counter()
            step()
            samples.append(time.perf_counter() - t0)
        samples.sort()
        print(json.dumps({'peer': 'torch', 'version': torch.__version__, 'threads': args.threads, 'stepsPerSecond': 1 / samples[len(samples) // 2], 'samples': len(samples)}))
        return

    images, labels = mnist(args.mnist, 'test', args.pad)
    model = build(torch, args.model, args.width, images.shape[1:], 10)
    if args.command == 'eval':
        tensors, _ = read_safetensors(args.weights)
        state = {k: torch.from_numpy(v) for k, v in tensors.items() if not k.startswith('optimizer.')}
        model.load_state_dict(state, strict=True)
        print(json.dumps(evaluate(torch, model, images, labels)))
        return

    train_images, train_labels = mnist(args.mnist, 'train', args.pad)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    order = np.random.default_rng(args.seed).permutation(len(train_labels))
    model.train()
    for s in range(args.steps):
        idx = order[(s * args.batch) % (len(order) - args.batch):][:args.batch]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.from_numpy(train_images[idx])), torch.from_numpy(train_labels[idx])).backward()
        opt.step()
    write_safetensors(args.out, {k: v.detach().numpy() for k, v in model.state_dict().items()}, {'written_by': 'torch_nets.py'})
    print(json.dumps(evaluate(torch, model, images, labels)))


if __name__ == '__main__':
    main()
