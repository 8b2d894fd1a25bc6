#!/usr/bin/python3
"""Independent references for camnet's Caffe tests, using Google's protobuf
(Debian's python3-protobuf) and OpenCV DNN (python3-opencv).

  caffe_pb.py text2bin DESC TYPE IN.prototxt OUT.bin
      Parses IN with protobuf's own text_format as message TYPE (e.g.
      caffe.NetParameter) built from the descriptor set DESC, and writes the
      binary serialization.
  caffe_pb.py opencv PROTOTXT CAFFEMODEL INPUT.npy OUTDIR [BLOB ...]
      Runs cv2.dnn.readNetFromCaffe on the input and writes OUTDIR/BLOB.npy
      for each named blob (default: the network's outputs, as out.npy).
"""
import os
import sys


def load_class(desc_path, type_name):
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    fds = descriptor_pb2.FileDescriptorSet.FromString(open(desc_path, 'rb').read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    d = pool.FindMessageTypeByName(type_name)
    if hasattr(message_factory, 'GetMessageClass'):
        return message_factory.GetMessageClass(d)
    return message_factory.MessageFactory(pool).GetPrototype(d)


def text2bin(desc, type_name, src, dst):
    from google.protobuf import text_format
    cls = load_class(desc, type_name)
    msg = text_format.Parse(open(src).read(), cls())
    with open(dst, 'wb') as f:
        f.write(msg.SerializeToString())


def opencv(prototxt, model, inp, outdir, blobs):
    import cv2
    import numpy as np
    cv2.setNumThreads(1)
    net = cv2.dnn.readNetFromCaffe(prototxt, model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    # Unfused, so every layer's own output can be compared.
    net.enableFusion(False)
    net.setInput(np.load(inp))
    if blobs:
        outs = net.forward(blobs)
        for name, o in zip(blobs, outs):
            np.save(os.path.join(outdir, name.replace('/', '_') + '.npy'),
                    np.ascontiguousarray(o, dtype=np.float32))
    else:
        o = net.forward()
        np.save(os.path.join(outdir, 'out.npy'),
                np.ascontiguousarray(o, dtype=np.float32))


def main(argv):
    if len(argv) >= 6 and argv[1] == 'text2bin':
        text2bin(argv[2], argv[3], argv[4], argv[5])
    elif len(argv) >= 6 and argv[1] == 'opencv':
        opencv(argv[2], argv[3], argv[4], argv[5], argv[6:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
