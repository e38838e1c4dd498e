"""The pieces the train scripts wire into a Chainer Trainer."""
