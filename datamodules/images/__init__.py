"""Image data sets: Fashion-MNIST and MNIST (idx files, uint8 in memory), CIFAR-10 (the python tarball, uint8 in
memory, augmented per batch on the device), and the image-file sets decoded per sample: the banana detection set,
the hot-dog image folder, VOC2012 segmentation and style transfer's two images."""

from .augment import ColorJitter, RandomFlip, RandomResizedCrop, make_augmentation
from .bananas import Bananas, DetectionImages, read_detection_labels
from .cifar import CIFAR10, read_cifar10
from .hotdog import Hotdog
from .mnist import MNIST, FashionMNIST, IdxImageClassification, read_idx
from .style import StyleImages
from .voc import VOC_CLASSES, VOC_COLORMAP, VOCSegmentation, voc_label_indices, voc_rand_crop

__all__ = [
    "CIFAR10",
    "MNIST",
    "VOC_CLASSES",
    "VOC_COLORMAP",
    "Bananas",
    "ColorJitter",
    "DetectionImages",
    "FashionMNIST",
    "Hotdog",
    "IdxImageClassification",
    "RandomFlip",
    "RandomResizedCrop",
    "StyleImages",
    "VOCSegmentation",
    "make_augmentation",
    "read_cifar10",
    "read_detection_labels",
    "read_idx",
    "voc_label_indices",
    "voc_rand_crop",
]
