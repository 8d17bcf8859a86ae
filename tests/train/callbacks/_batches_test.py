"""Counting batches over a run from the loop's per-epoch indices."""

from train.callbacks._batches import BatchCounter


def test_one_report_per_batch_counts_over_epochs():
    counter = BatchCounter()
    totals = []
    for _ in range(2):
        counter.new_epoch()
        totals += [counter.update(batch) for batch in range(3)]
    assert totals == [1, 2, 3, 4, 5, 6]


def test_reports_of_several_batches_add_the_distance():
    counter = BatchCounter()  # as with steps_per_execution=2 and 5 batches
    counter.new_epoch()
    assert [counter.update(batch) for batch in (1, 3, 4)] == [2, 4, 5]
    counter.new_epoch()
    assert [counter.update(batch) for batch in (1, 3, 4)] == [7, 9, 10]
