"""The pretrained networks shipped with the package: weights files, their model cards and the index
(``index.yaml``). Load them with ``zoo.load_pretrained(name)``; see :mod:`zoo.core.pretrained`."""
