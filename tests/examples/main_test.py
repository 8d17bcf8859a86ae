"""The main job trains a real model: the digits CNN clears the demo's accuracy bar."""

import importlib.util
import pathlib

MAIN = pathlib.Path(__file__).resolve().parents[2] / "examples" / "main.py"


def test_main_job_reaches_its_accuracy_bar():
    spec = importlib.util.spec_from_file_location("examples_main", MAIN)
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    assert main.main(verbose=0) >= main.ACCURACY_BAR
