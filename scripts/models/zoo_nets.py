"""The hand-written PyTorch networks of the model zoo (scripts/make-zoo.py).

Architectures that torchvision lacks, written the way their projects write
them so that torch.onnx.export emits what those projects' exports contain:
YOLOv8n-like (C2f with Split, SiLU, SPPF, nearest Resize, DFL head with a
softmax over 16 bins, anchors made from the feature shapes), YOLOv5s-like
(C3, SPPF, grid decode), a DBNet-like text detector (MobileNetV3 + FPN +
ConvTranspose), a tiny SVTR-like recognizer (conv stem + transformer blocks)
and a U-Net. Widths and depths are the small variants'; weights are random.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def autopad(k):
    return k // 2


class Conv(nn.Module):
    """Conv + BN + SiLU, the Ultralytics building block."""

    def __init__(self, c1, c2, k=1, s=1, p=None, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k) if p is None else p,
                              bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True, e=1.0, k=(3, 3)):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, k[0])
        self.cv2 = Conv(c_, c2, k[1])
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """YOLOv8's CSP block: the first conv's output is split in two
    (an ONNX Split), each bottleneck's output is kept, all concatenated."""

    def __init__(self, c1, c2, n=1, shortcut=False):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(
            Bottleneck(self.c, self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).split((self.c, self.c), 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class C3(nn.Module):
    """YOLOv5's CSP block."""

    def __init__(self, c1, c2, n=1, shortcut=True):
        super().__init__()
        c_ = c2 // 2
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv(c1, c_, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(
            *(Bottleneck(c_, c_, shortcut, k=(1, 3)) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv(c_ * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


def make_anchors(feats, strides, offset=0.5):
    """Anchor points and strides from the feature maps' shapes, as
    Ultralytics computes them (Range over the traced height and width)."""
    points, stride_t = [], []
    for f, s in zip(feats, strides):
        _, _, h, w = f.shape
        sx = torch.arange(w, dtype=torch.float32) + offset
        sy = torch.arange(h, dtype=torch.float32) + offset
        sy, sx = torch.meshgrid(sy, sx, indexing='ij')
        points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_t.append(torch.full((h * w, 1), s, dtype=torch.float32))
    return torch.cat(points).transpose(0, 1), torch.cat(stride_t).transpose(
        0, 1)


class DFL(nn.Module):
    """Distribution focal loss integral: softmax over 16 bins, then a fixed
    1x1 convolution with weights 0..15 (the expectation)."""

    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(
            c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(
            x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


class DetectV8(nn.Module):
    def __init__(self, nc, ch, strides=(8, 16, 32)):
        super().__init__()
        self.nc, self.reg_max = nc, 16
        self.no = nc + 4 * self.reg_max
        self.strides = strides
        c2, c3 = max(16, ch[0] // 4, 64), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(
            nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3),
                          nn.Conv2d(c2, 4 * self.reg_max, 1)) for x in ch)
        self.cv3 = nn.ModuleList(
            nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3),
                          nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = DFL(self.reg_max)

    def forward(self, xs):
        xs = [torch.cat((a(x), b(x)), 1)
              for x, a, b in zip(xs, self.cv2, self.cv3)]
        anchors, strides = make_anchors(xs, self.strides)
        b = xs[0].shape[0]
        x_cat = torch.cat([x.view(b, self.no, -1) for x in xs], 2)
        box, cls = x_cat.split((self.reg_max * 4, self.nc), 1)
        lt, rb = self.dfl(box).chunk(2, 1)
        a = anchors.unsqueeze(0)
        x1y1, x2y2 = a - lt, a + rb
        dbox = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * strides
        return torch.cat((dbox, cls.sigmoid()), 1)


class YoloV8n(nn.Module):
    """YOLOv8n's layout (width 0.25, depth 0.33): [1, 4 + nc, anchors]."""

    def __init__(self, nc=80):
        super().__init__()
        self.b0 = nn.Sequential(Conv(3, 16, 3, 2), Conv(16, 32, 3, 2),
                                C2f(32, 32, 1, True), Conv(32, 64, 3, 2),
                                C2f(64, 64, 2, True))
        self.b1 = nn.Sequential(Conv(64, 128, 3, 2), C2f(128, 128, 2, True))
        self.b2 = nn.Sequential(Conv(128, 256, 3, 2), C2f(256, 256, 1, True),
                                SPPF(256, 256))
        self.up = nn.Upsample(scale_factor=2, mode='nearest')
        self.h1 = C2f(384, 128, 1)
        self.h2 = C2f(192, 64, 1)
        self.d1 = Conv(64, 64, 3, 2)
        self.h3 = C2f(192, 128, 1)
        self.d2 = Conv(128, 128, 3, 2)
        self.h4 = C2f(384, 256, 1)
        self.detect = DetectV8(nc, (64, 128, 256))

    def forward(self, x):
        p3 = self.b0(x)
        p4 = self.b1(p3)
        p5 = self.b2(p4)
        t4 = self.h1(torch.cat((self.up(p5), p4), 1))
        o3 = self.h2(torch.cat((self.up(t4), p3), 1))
        o4 = self.h3(torch.cat((self.d1(o3), t4), 1))
        o5 = self.h4(torch.cat((self.d2(o4), p5), 1))
        return self.detect([o3, o4, o5])


class DetectV5(nn.Module):
    ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119),
               (116, 90, 156, 198, 373, 326))

    def __init__(self, nc, ch, strides=(8, 16, 32)):
        super().__init__()
        self.no, self.na = nc + 5, 3
        self.strides = strides
        self.m = nn.ModuleList(nn.Conv2d(x, self.no * self.na, 1) for x in ch)
        self.register_buffer('anchor_grid', torch.tensor(
            self.ANCHORS, dtype=torch.float32).view(3, 1, 3, 1, 1, 2))

    def forward(self, xs):
        z = []
        for i, x in enumerate(xs):
            x = self.m[i](x)
            bs, _, ny, nx = x.shape
            x = x.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2)
            yv, xv = torch.meshgrid(torch.arange(ny, dtype=torch.float32),
                                    torch.arange(nx, dtype=torch.float32),
                                    indexing='ij')
            grid = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2) - 0.5
            y = x.sigmoid()
            xy, wh, conf = y.split((2, 2, self.no - 4), 4)
            xy = (xy * 2 + grid) * self.strides[i]
            wh = (wh * 2) ** 2 * self.anchor_grid[i]
            z.append(torch.cat((xy, wh, conf), 4).view(bs, -1, self.no))
        return torch.cat(z, 1)


class YoloV5s(nn.Module):
    """YOLOv5s's layout (width 0.5, depth 0.33): [1, boxes, 5 + nc]."""

    def __init__(self, nc=80):
        super().__init__()
        self.b0 = nn.Sequential(Conv(3, 32, 6, 2, 2), Conv(32, 64, 3, 2),
                                C3(64, 64, 1), Conv(64, 128, 3, 2),
                                C3(128, 128, 2))
        self.b1 = nn.Sequential(Conv(128, 256, 3, 2), C3(256, 256, 3))
        self.b2 = nn.Sequential(Conv(256, 512, 3, 2), C3(512, 512, 1),
                                SPPF(512, 512))
        self.up = nn.Upsample(scale_factor=2, mode='nearest')
        self.l1 = Conv(512, 256, 1)
        self.h1 = C3(512, 256, 1, False)
        self.l2 = Conv(256, 128, 1)
        self.h2 = C3(256, 128, 1, False)
        self.d1 = Conv(128, 128, 3, 2)
        self.h3 = C3(256, 256, 1, False)
        self.d2 = Conv(256, 256, 3, 2)
        self.h4 = C3(512, 512, 1, False)
        self.detect = DetectV5(nc, (128, 256, 512))

    def forward(self, x):
        p3 = self.b0(x)
        p4 = self.b1(p3)
        p5 = self.l1(self.b2(p4))
        t4 = self.l2(self.h1(torch.cat((self.up(p5), p4), 1)))
        o3 = self.h2(torch.cat((self.up(t4), p3), 1))
        o4 = self.h3(torch.cat((self.d1(o3), t4), 1))
        o5 = self.h4(torch.cat((self.d2(o4), p5), 1))
        return self.detect([o3, o4, o5])


class DBNet(nn.Module):
    """PaddleOCR's DB text detector layout: MobileNetV3-large x0.5 backbone
    (SE, HardSwish, HardSigmoid), FPN with nearest upsampling, and the DB
    head's two ConvTranspose layers back to full resolution: [1, 1, H, W]."""

    TAPS = (3, 6, 12, 16)  # strides 4, 8, 16, 32 in features

    def __init__(self, inner=96):
        super().__init__()
        mb = torchvision.models.mobilenet_v3_large(weights=None,
                                                   width_mult=0.5)
        self.features = mb.features
        with torch.no_grad():
            chans, x = [], torch.zeros(1, 3, 64, 64)
            for i, f in enumerate(self.features):
                x = f(x)
                if i in self.TAPS:
                    chans.append(x.shape[1])
        self.lat = nn.ModuleList(nn.Conv2d(c, inner, 1, bias=False)
                                 for c in chans)
        self.smooth = nn.ModuleList(
            nn.Conv2d(inner, inner // 4, 3, padding=1, bias=False)
            for _ in chans)
        q = inner // 4
        self.head = nn.Sequential(
            nn.Conv2d(inner, q, 3, padding=1, bias=False), nn.BatchNorm2d(q),
            nn.ReLU(), nn.ConvTranspose2d(q, q, 2, 2), nn.BatchNorm2d(q),
            nn.ReLU(), nn.ConvTranspose2d(q, 1, 2, 2), nn.Sigmoid())

    def forward(self, x):
        taps = []
        for i, f in enumerate(self.features):
            x = f(x)
            if i in self.TAPS:
                taps.append(x)
        lat = [m(t) for m, t in zip(self.lat, taps)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(
                lat[i], scale_factor=2.0, mode='nearest')
        outs = [m(t) for m, t in zip(self.smooth, lat)]
        outs = [outs[0]] + [
            F.interpolate(o, scale_factor=2.0 ** i, mode='nearest')
            for i, o in enumerate(outs[1:], 1)
        ]
        return self.head(torch.cat(outs[::-1], 1))


class Block(nn.Module):
    """Pre-norm transformer block with attention written out (Linear qkv,
    reshape with a symbolic token count, MatMul, Softmax) as SVTR does."""

    def __init__(self, dim, heads, mlp=2.0):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, int(dim * mlp))
        self.fc2 = nn.Linear(int(dim * mlp), dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads,
                                              self.hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.hd**-0.5, qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)).softmax(-1)
        y = (attn @ v).transpose(1, 2).reshape(b, n, c)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class SVTRTiny(nn.Module):
    """A tiny SVTR-like text recognizer: input [1, 3, 32, W], output
    [1, W/4, classes] softmax over the character set (CTC)."""

    def __init__(self, dim=64, classes=97, depth=2):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, dim // 2, 3, 2, 1, bias=False),
            nn.BatchNorm2d(dim // 2), nn.GELU(),
            nn.Conv2d(dim // 2, dim, 3, 2, 1, bias=False),
            nn.BatchNorm2d(dim), nn.GELU())
        self.blocks = nn.ModuleList(Block(dim, 2) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.merge = nn.Conv2d(dim, dim, (3, 3), (2, 1), 1)
        self.fc = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.stem(x)
        b, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x).transpose(1, 2).reshape(b, c, h, w)
        x = self.merge(x).mean(2).transpose(1, 2)
        return self.fc(x).softmax(-1)


def double_conv(c1, c2):
    return nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c2), nn.ReLU(inplace=True),
                         nn.Conv2d(c2, c2, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c2), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """U-Net (widths 16..256): max-pool down, ConvTranspose up, skip
    concatenation; [1, classes, H, W] logits."""

    def __init__(self, classes=2, w=(16, 32, 64, 128, 256)):
        super().__init__()
        self.downs = nn.ModuleList()
        c = 3
        for x in w:
            self.downs.append(double_conv(c, x))
            c = x
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(w[i], w[i - 1], 2, 2)
            for i in range(len(w) - 1, 0, -1))
        self.convs = nn.ModuleList(
            double_conv(2 * w[i - 1], w[i - 1])
            for i in range(len(w) - 1, 0, -1))
        self.out = nn.Conv2d(w[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, d in enumerate(self.downs):
            x = d(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for up, conv, s in zip(self.ups, self.convs, skips[-2::-1]):
            x = conv(torch.cat((up(x), s), 1))
        return self.out(x)
