"""Pretrained networks: the shipped weights load offline, match their cards and predict; publishing round-trips;
a tampered, corrupt or unknown file is one clear error and never runs code."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch
import yaml
from conftest import quiet_trainer

import zoo
from cli import run
from datamodules import FashionMNIST
from zoo.core import pretrained
from zoo.core.pretrained import PretrainedError, load_pretrained, read_weights

INDEX = yaml.safe_load(pretrained.INDEX.read_text())
REAL_DATA = os.environ.get("D2L_ZOO_DATA")


@pytest.mark.parametrize("name", zoo.list_pretrained())
def test_each_shipped_network_loads_offline_matches_its_card_and_predicts(name):
    entry = INDEX[name]
    path = pretrained.PACKAGED / entry["file"]
    assert path.stat().st_size < 2_500_000  # small enough to ship (the course FC net is 2.3 MB of float32)
    assert pretrained.sha256(path) == entry["sha256"] and entry["file"] == f"{name}-{entry['sha256'][:8]}.pt"
    model = load_pretrained(name)
    assert not model.training and f"zoo.{type(model).__name__}" == entry["class"]
    assert model.pretrained["name"] == name and model.pretrained["metrics"] == entry["metrics"]
    card = (pretrained.PACKAGED / f"{name}.md").read_text()
    assert f'zoo.load_pretrained("{name}")' in card
    for metric, value in entry["metrics"].items():
        assert f"| {metric} | {value} |" in card
    if isinstance(model, zoo.LanguageModel):  # greedy generation is deterministic: the card's text, exactly
        assert repr(model.generate()) == entry["metrics"]["generated (greedy)"]
    else:
        from zoo.core.export import example_input

        with torch.no_grad():
            logits = model(example_input(model))
        assert logits.shape[-1] == model.hparams.num_classes and torch.isfinite(logits).all()


@pytest.mark.skipif(not REAL_DATA, reason="opt-in: D2L_ZOO_DATA with the real data re-measures every card")
@pytest.mark.parametrize("name", [n for n in zoo.list_pretrained() if "test/acc" in INDEX[n]["metrics"]])
def test_each_cards_test_accuracy_reproduces_on_the_real_data(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = run(["test", "--pretrained", name])
    assert f"{float(cli.trainer.callback_metrics['test/acc']):.4f}" == INDEX[name]["metrics"]["test/acc"]


def test_publish_then_load_and_predict_with_the_cli(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run(["fit", "--model", "LeNet", "--data", "FashionMNIST", "--trainer.max_epochs", "1"])
    ckpt = next(tmp_path.glob("lightning_logs/version_0/checkpoints/last.ckpt"))
    run(["publish", "--ckpt_path", str(ckpt), "--name", "my-lenet", "--out", str(tmp_path / "out")])
    weights = next((tmp_path / "out").glob("my-lenet-*.pt"))
    assert re.fullmatch(r"my-lenet-[0-9a-f]{8}\.pt", weights.name)
    card = (tmp_path / "out" / "my-lenet.md").read_text()
    assert "| test/acc |" in card and "LeNet" in card and "md5:" in card  # measured, and the data's hashes
    model = load_pretrained(weights)
    reference = zoo.LeNet.load_from_checkpoint(ckpt).eval()
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(model(x), reference(x))
    payload = read_weights(weights)
    assert "optimizer_states" not in payload and payload["data"]["class_path"] == "datamodules.FashionMNIST"
    capsys.readouterr()
    run(["predict", "--pretrained", str(weights)])  # the network and its data, from the file alone
    assert "predictions.png" in capsys.readouterr().out


def test_a_tampered_file_is_refused(tmp_path):
    source = pretrained.PACKAGED / INDEX["lenet-fashion-mnist"]["file"]
    tampered = tmp_path / source.name
    data = bytearray(source.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the weights
    tampered.write_bytes(bytes(data))
    with pytest.raises(PretrainedError, match="corrupt or not the published file"):
        load_pretrained(tampered)


def test_a_pickle_that_runs_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"

    class Malicious:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"format": pretrained.FORMAT, "payload": Malicious()}, path)
    with pytest.raises(PretrainedError, match="not a weights file the zoo can read"):
        load_pretrained(path)
    assert not marker.exists()


def test_an_unknown_name_lists_the_published_ones(capsys):
    with pytest.raises(PretrainedError, match="Did you mean lenet-fashion-mnist") as err:
        load_pretrained("lenet-fashion")
    assert "gru-time-machine" in str(err.value)
    with pytest.raises(SystemExit) as exit_info:
        run(["predict", "--pretrained", "lenet-fashion"])
    assert exit_info.value.code == 2 and capsys.readouterr().err.startswith("error: no pretrained network")


def test_a_url_downloads_once_into_the_cache_and_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.WEIGHTS_ENV, str(tmp_path / "cache"))
    source = pretrained.PACKAGED / INDEX["cnn-mnist"]["file"]
    model = load_pretrained(Path(source).resolve().as_uri())  # file:// stands in for a server
    assert (tmp_path / "cache" / source.name).is_file() and type(model).__name__ == "BasicCNN"


def test_list_prints_the_published_networks(capsys):
    run(["list", "--pretrained"])
    out = capsys.readouterr().out
    assert all(name in out for name in zoo.list_pretrained()) and "test/acc 0.7723" in out


def test_loading_another_networks_checkpoint_in_python_is_one_clear_error(tiny_mnist, tmp_path):
    from zoo.core.checkpoint import CheckpointError

    trainer = quiet_trainer(tmp_path, max_epochs=1)
    trainer.fit(zoo.SoftmaxRegression(), FashionMNIST(batch_size=32))
    trainer.save_checkpoint(tmp_path / "softmax.ckpt")
    with pytest.raises(CheckpointError, match="holds a zoo.SoftmaxRegression, not a zoo.LeNet"):
        zoo.LeNet.load_from_checkpoint(tmp_path / "softmax.ckpt")
    assert isinstance(zoo.ZooModule.load_from_checkpoint(tmp_path / "softmax.ckpt"), zoo.SoftmaxRegression)
