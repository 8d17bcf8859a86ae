"""The main job: the digits CNN clears the demo's accuracy bar, and the saved
archive predicts the same on torch and TensorFlow as on JAX."""

import importlib.util
import pathlib

MAIN = pathlib.Path(__file__).resolve().parents[2] / "examples" / "main.py"


def test_main_job_reaches_its_bar_and_the_backends_agree(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("examples_main", MAIN)
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    result = main.main(verbose=0, output=tmp_path)
    assert result["accuracy"] >= main.ACCURACY_BAR
    assert set(result["differences"]) == {"torch", "tensorflow"}
    assert main.passed(result)
    assert (tmp_path / "training_curve.png").stat().st_size > 10_000
    assert (tmp_path / "best.stateless").exists()
    told = capsys.readouterr().out
    assert "early stopping ended the run after epoch" in told or "ran all 30" in told
    assert "best val_loss" in told
    assert f"best checkpoint (lowest val_loss): {tmp_path / 'best.stateless'}" in told
    assert f"final model archive: {tmp_path / 'digits_cnn.stateless'}" in told
