"""The registry (zoo.list_models / get_model), every config trained for two batches on fixtures, and the
data facts that travel from the data modules to the models."""

from __future__ import annotations

import math

import pytest
import torch
import yaml
from conftest import CONFIGS, NETWORK_CONFIGS, write_diabetes, write_style_images

import zoo
from cli import run
from datamodules import CSVTable, FashionMNIST, KaggleHouse, PolynomialData, SyntheticRegression, TimeMachine
from zoo.core.registry import count_parameters, get_model_entry, model_entries, parameter_count


def config_model(path) -> dict:
    return yaml.safe_load(path.read_text())["model"]


# --- the registry --------------------------------------------------------------------------------


def test_every_config_belongs_to_a_registered_network():
    registered = {config for entry in model_entries() for config in entry.configs}
    on_disk = {str(path.relative_to(CONFIGS)) for path in NETWORK_CONFIGS}
    assert registered == on_disk


@pytest.mark.parametrize("entry", model_entries(), ids=lambda e: e.name)
def test_each_entry_agrees_with_its_configs(entry):
    """Every config trains the entry's class, and the arguments that make the network what it is are its first
    config's own (no drift; later configs are other recipes: the 1.0 GRU, the 2-GPU ResNet)."""
    for config in entry.configs:
        assert config_model(CONFIGS / config)["class_path"] == f"zoo.{entry.cls.__name__}"
    init_args = config_model(CONFIGS / entry.configs[0]).get("init_args") or {}
    for key, value in entry.kwargs.items():
        if key in init_args:
            assert init_args[key] == value, (entry.configs[0], key)


@pytest.mark.parametrize("name", zoo.list_models())
def test_get_model_builds_each_network_and_runs_it_at_the_recipes_input_size(name):
    entry = get_model_entry(name)
    torch.manual_seed(0)
    model = zoo.get_model(name).eval()
    x = entry.example_input(batch_size=2)
    with torch.no_grad():
        if isinstance(model, zoo.EncoderDecoder):  # source and teacher-forced target
            out = model(x, x, torch.tensor([x.shape[1], 1]))
        elif isinstance(model, zoo.NadarayaWatson):  # queries attending over 5 key-value pairs
            out = model(x, torch.rand(2, 5), torch.rand(2, 5)).reshape(2, 1)
        elif isinstance(model, zoo.BERT):  # tokens, segments, valid lengths and 10 prediction positions each
            out = model(x, torch.zeros_like(x), torch.tensor([x.shape[1], 5]), torch.arange(10).expand(2, 10))
        else:
            out = model(x)
    if isinstance(model, zoo.Detector):  # anchors (1, a, 4), class scores (2, a, classes + 1), offsets (2, a * 4)
        anchors, cls_preds, bbox_preds = out
        a = anchors.shape[1]
        assert anchors.shape == (1, a, 4) and cls_preds.shape == (2, a, model.hparams.num_classes + 1)
        assert bbox_preds.shape == (2, a * 4) and a > 0
        out = torch.cat([anchors.flatten(), cls_preds.flatten(), bbox_preds.flatten()])
    if isinstance(model, zoo.StyleTransfer):  # the content and style features of each image
        contents, styles = out
        assert [c.shape[:2] for c in contents] == [(2, 512)]
        assert [s.shape[1] for s in styles] == [64, 128, 256, 512, 512]
        out = torch.cat([f.flatten() for f in contents + styles])
    if isinstance(model, zoo.BERT):  # the encodings (2, T, d), MLM logits (2, 10, vocab), NSP logits (2, 2)
        encoded, mlm, nsp = out
        assert encoded.shape == (2, *entry.input_shape, model.hparams.num_hiddens)
        assert mlm.shape == (2, 10, len(model.vocab)) and nsp.shape == (2, 2)
        out = torch.cat([encoded.flatten(), mlm.flatten(), nsp.flatten()])
    out = out[0] if isinstance(out, tuple) else out  # language models and decoders also return their state
    if isinstance(model, zoo.EncoderDecoder):
        assert out.shape == (2, *entry.input_shape, len(model.tgt_vocab))
    elif isinstance(model, zoo.Classifier):
        assert out.shape == (2, model.hparams.num_classes)
    elif isinstance(model, zoo.LanguageModel):
        assert out.shape == (2, *entry.input_shape, len(model.vocab))
    elif isinstance(model, zoo.EdgeDetector):
        assert out.shape == (2, 1, 6, 7)  # an edge map per image
    elif isinstance(model, zoo.Segmenter):  # class scores for every pixel
        assert out.shape == (2, model.hparams.num_classes, *entry.input_shape[1:])
    elif not isinstance(model, (zoo.Detector, zoo.StyleTransfer, zoo.BERT)):
        assert out.shape == (2, 1)
    assert torch.isfinite(out).all()
    assert parameter_count(name) == count_parameters(model) > 0


def test_get_model_takes_overrides_and_says_what_is_unknown():
    model = zoo.get_model("resnet18", num_classes=5, in_channels=3)
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 5)
    with pytest.raises(ValueError, match="did you mean lenet") as err:
        zoo.get_model("lenett")
    assert "resnet18" in str(err.value)  # and lists the known ones
    with pytest.raises(ValueError, match="takes no argument"):
        zoo.get_model("lenet", num_layers=3)


def test_the_registry_lists_networks_in_the_books_order_with_both_editions():
    names = zoo.list_models()
    assert names.index("linear_regression") < names.index("lenet") < names.index("resnet18") < names.index("gru_lm")
    lenet = get_model_entry("lenet")
    assert lenet.book.v1 == ("7.6 Convolutional Neural Networks (LeNet)",)
    assert lenet.book.v017 == ("6.6 Convolutional Neural Networks (LeNet)",)
    assert get_model_entry("googlenet").book.v017[0].startswith("7.4 Networks with Parallel Concatenations")
    table = zoo.models_table(markdown=False)
    assert all(name in table for name in names) and "61.7k" in table  # LeNet's 61,706 parameters


# --- every config trains for two batches on fixtures ------------------------------------------------


def fixture_flags(path, request, tmp_path) -> list[str]:
    """Point a config at tiny data in its real format; keep its network and input size."""
    data = yaml.safe_load(path.read_text())["data"]["class_path"]
    if data in ("datamodules.FashionMNIST", "datamodules.MNIST"):
        request.getfixturevalue("tiny_mnist")
        return ["--data.batch_size", "8"]  # 96 tiny images: enough batches at the configs' image sizes
    if data == "datamodules.KaggleHouse":
        request.getfixturevalue("tiny_house")
        return ["--data.batch_size", "8"]
    if data == "datamodules.Bananas":
        request.getfixturevalue("tiny_bananas")  # 256x256 images, as the recipe's
        return ["--data.batch_size", "4"]
    if data == "datamodules.Airfoil":
        request.getfixturevalue("tiny_airfoil")
        return []
    if data == "datamodules.CIFAR10":
        request.getfixturevalue("tiny_cifar")
        return ["--data.batch_size", "8"]
    if data == "datamodules.Hotdog":  # the recipes' transforms at a smaller size; random weights (offline)
        request.getfixturevalue("tiny_hotdog")
        return ["--data.batch_size", "4", "--data.image_size", "64", "--data.resize", "72", "--model.weights", "null"]
    if data == "datamodules.VOCSegmentation":
        request.getfixturevalue("tiny_voc")
        return ["--data.batch_size", "2", "--data.crop_size", "[64, 96]", "--model.weights", "null"]
    if data == "datamodules.StyleImages":
        content, style = write_style_images(tmp_path)
        images = [
            "--data.content_image",
            str(content),
            "--data.style_image",
            str(style),
            "--data.image_shape",
            "[32, 48]",
        ]
        return [*images, "--data.steps_per_epoch", "2", "--model.weights", "null"]
    if data == "datamodules.CSVTable":
        return ["--data.path", str(write_diabetes(tmp_path / "diabetes.csv.gz"))]
    if data == "datamodules.Translation":  # 71 pairs: the full-data recipes' sizes do not fit, the networks do
        request.getfixturevalue("tiny_fra")
        return ["--data.num_examples", "40", "--data.num_test", "10", "--data.val_split", "0", "--data.batch_size", "8"]
    if data == "datamodules.WikiText2":  # tiny token files; the recipe's batch of 512 would be one batch
        request.getfixturevalue("tiny_wikitext")
        return ["--data.batch_size", "16"]
    return []  # generated data, or The Time Machine that ships with the package


@pytest.mark.parametrize("path", NETWORK_CONFIGS, ids=lambda p: p.stem)
def test_every_config_trains_two_batches(path, request, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flags = fixture_flags(path, request, tmp_path)
    quick = ["--trainer.max_steps", "2", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "2"]
    quick += ["--trainer.max_epochs", "2"]  # data of one batch (the edge image, the kernel regression) takes two
    quick += ["--trainer.enable_model_summary", "false", "--trainer.enable_checkpointing", "false"]
    quick += ["--trainer.accelerator", "cpu", "--trainer.devices", "1", "--trainer.strategy", "auto"]  # GPU recipes too
    cli = run(["fit", "--config", str(path), *quick, *flags])  # the fixture's flags win
    assert cli.trainer.global_step == 2
    assert f"zoo.{type(cli.model).__name__}" == config_model(path)["class_path"]
    assert math.isfinite(float(cli.trainer.callback_metrics["train/loss"]))


# --- data facts: linked on the command line, filled in at configure_model otherwise --------------------


def test_data_modules_offer_the_facts_models_need():
    assert (FashionMNIST().num_classes, FashionMNIST().in_channels, FashionMNIST().num_inputs) == (10, 1, 784)
    assert FashionMNIST(resize=32).num_inputs == 1024
    assert SyntheticRegression(w=0.01, num_inputs=200).num_inputs == 200
    assert PolynomialData(num_features=20).num_inputs == 20
    assert len(TimeMachine().vocab) == 28  # the bundled text: known at construction
    with pytest.raises(AttributeError, match="known after setup"):
        KaggleHouse().num_inputs  # noqa: B018  (needs the files read)


def test_a_fact_given_once_on_the_data_reaches_the_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = str(CONFIGS / "linear/polynomial.yaml")
    cli = run(["fit", "--config", path, "--data.num_features", "20", "--trainer.max_epochs", "1"])
    assert cli.model.hparams.num_inputs == 20 and cli.model.net.in_features == 20


def test_a_flag_that_contradicts_the_data_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run(
            [
                "fit",
                "--config",
                str(CONFIGS / "linear/polynomial.yaml"),
                "--model.num_inputs",
                "3",
                "--trainer.max_epochs",
                "1",
            ]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --model.num_inputs 3 contradicts the data") and len(err.splitlines()) == 1


def test_a_fact_known_only_after_setup_builds_the_model_at_configure_model(tiny_house, tmp_path):
    from conftest import quiet_trainer

    model = zoo.HousePriceRegression()
    assert model.net is None and model.hparams.num_inputs is None
    data = KaggleHouse(batch_size=8)
    quiet_trainer(tmp_path, max_epochs=1, enable_checkpointing=False).fit(model, data)
    assert model.hparams.num_inputs == data.num_inputs == model.net[0].in_features
    assert model.hparams_initial.num_inputs == data.num_inputs  # what the loggers record


def test_csv_models_build_for_the_files_feature_count(tmp_path):
    from conftest import quiet_trainer

    path = write_diabetes(tmp_path / "d.csv.gz")
    model = zoo.BinaryMLP(num_inputs=None)
    quiet_trainer(tmp_path, max_epochs=1, enable_checkpointing=False).fit(model, CSVTable(path=str(path), header=False))
    assert model.hparams.num_inputs == 8
