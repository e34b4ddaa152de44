"""Tests of the dataset loaders, the download helper and the benchmark scores.

Tests that read the real data find it through the FACTOREMBED_DATA environment
variable, as CI sets it. No test touches the network: ``_base._urlopen`` is
replaced in every test, by a function that fails unless a test serves bytes.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import os
import socket
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath
from scipy.stats import spearmanr

from sklearn_factorembed import load_vectors
from sklearn_factorembed.datasets import (
    WordAnalogyResult,
    WordSimilarityResult,
    _base,  # the download seam and checksums
    evaluate_word_analogies,
    evaluate_word_similarity,
    fetch_ag_news,
    fetch_movie_reviews,
    get_data_home,
    load_word_similarity,
)

MOVIE_URL = (
    "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any test that would open a URL without serving it itself."""

    def refuse(url, timeout):
        raise AssertionError(f"a test tried to open {url}")

    monkeypatch.setattr(_base, "_urlopen", refuse)


@pytest.fixture
def shared_data_home() -> Path:
    if not os.environ.get("FACTOREMBED_DATA"):
        pytest.fail("set FACTOREMBED_DATA to the shared data folder (see README)")
    return Path(os.environ["FACTOREMBED_DATA"])


def make_tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


FAKE_NEGATIVES = b"a dull , l\xe9aden film . \nboring\x85 and long . \n"
FAKE_POSITIVES = b"a triumph . \n"
FAKE_ARCHIVE_FILES = {
    "rt-polaritydata.README.1.0.txt": b"readme\n",
    "rt-polaritydata/rt-polarity.neg": FAKE_NEGATIVES,
    "rt-polaritydata/rt-polarity.pos": FAKE_POSITIVES,
}


@pytest.fixture
def serve(monkeypatch):
    """Serve the given archive bytes in place of the network; record requests."""
    requests = []

    def install(payload: bytes) -> list[tuple[str, float]]:
        def urlopen(url, timeout):
            requests.append((url, timeout))
            return io.BytesIO(payload)

        monkeypatch.setattr(_base, "_urlopen", urlopen)
        return requests

    return install


@pytest.fixture
def fake_checksums(monkeypatch):
    """Make the checksum table expect the fake movie-review files."""
    for name, content in [("neg", FAKE_NEGATIVES), ("pos", FAKE_POSITIVES)]:
        monkeypatch.setitem(
            _base._SHA256,
            f"movie_review_polarity/rt-polarity.{name}",
            hashlib.sha256(content).hexdigest(),
        )


# --- data home ----------------------------------------------------------------


def test_data_home_argument_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FACTOREMBED_DATA", str(tmp_path / "from_env"))
    assert get_data_home(tmp_path / "from_arg") == tmp_path / "from_arg"


def test_environment_variable_wins_over_default(monkeypatch, tmp_path):
    monkeypatch.setenv("FACTOREMBED_DATA", str(tmp_path / "from_env"))
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn"))
    assert get_data_home() == tmp_path / "from_env"


@pytest.mark.parametrize("environment", [None, ""])
def test_default_data_home_is_inside_sklearn_data_home(
    monkeypatch, tmp_path, environment
):
    if environment is None:
        monkeypatch.delenv("FACTOREMBED_DATA", raising=False)
    else:
        monkeypatch.setenv("FACTOREMBED_DATA", environment)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn"))
    assert get_data_home() == tmp_path / "sklearn" / "factorembed"


def test_relative_data_home_is_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTOREMBED_DATA", "../shared/data")
    assert get_data_home() == Path.cwd().parent / "shared" / "data"


def test_loader_reads_data_home_argument_not_environment(monkeypatch, tmp_path):
    folder = tmp_path / "movie_review_polarity"
    folder.mkdir()
    (folder / "rt-polarity.neg").write_bytes(FAKE_NEGATIVES)
    (folder / "rt-polarity.pos").write_bytes(FAKE_POSITIVES)
    monkeypatch.setenv("FACTOREMBED_DATA", str(tmp_path / "elsewhere"))
    data, target = fetch_movie_reviews(data_home=tmp_path, return_X_y=True)
    assert data == ["a dull , léaden film . ", "boring\x85 and long . ", "a triumph . "]
    assert target.tolist() == [0, 0, 1]


# --- movie reviews, real data -------------------------------------------------


def test_movie_reviews_have_5331_sentences_per_class(shared_data_home):
    reviews = fetch_movie_reviews(download_if_missing=False)
    assert len(reviews.data) == 10_662
    assert reviews.target.dtype.kind == "i"
    assert np.bincount(reviews.target).tolist() == [5331, 5331]
    assert reviews.target_names == ["negative", "positive"]
    assert "Pang" in reviews.DESCR


def test_movie_reviews_are_negatives_then_positives_in_file_order(
    shared_data_home,
):
    data, target = fetch_movie_reviews(download_if_missing=False, return_X_y=True)
    folder = shared_data_home / "movie_review_polarity"
    first_negative = (folder / "rt-polarity.neg").read_bytes().split(b"\n")[0]
    last_positive = (folder / "rt-polarity.pos").read_bytes().split(b"\n")[-2]
    assert target.tolist() == [0] * 5331 + [1] * 5331
    assert data[0] == first_negative.decode("latin-1")
    assert data[-1] == last_positive.decode("latin-1")


def test_movie_reviews_decode_latin1_and_split_on_newline_only(shared_data_home):
    data, _ = fetch_movie_reviews(download_if_missing=False, return_X_y=True)
    folder = shared_data_home / "movie_review_polarity"
    n_lines_with_0x85 = sum(
        line.count(b"\x85") > 0
        for name in ["rt-polarity.neg", "rt-polarity.pos"]
        for line in (folder / name).read_bytes().split(b"\n")
    )
    assert all(isinstance(document, str) for document in data)
    assert not any("\n" in document for document in data)
    # 0x85 decodes to U+0085, which str.splitlines would wrongly split on.
    assert n_lines_with_0x85 > 0
    assert sum("\x85" in document for document in data) == n_lines_with_0x85
    assert "é" in "".join(data)


def test_movie_reviews_return_x_y_matches_bunch(shared_data_home):
    reviews = fetch_movie_reviews(download_if_missing=False)
    data, target = fetch_movie_reviews(download_if_missing=False, return_X_y=True)
    assert data == reviews.data
    np.testing.assert_array_equal(target, reviews.target)


# --- AG News, real data -------------------------------------------------------


@pytest.mark.parametrize(
    ("subset", "n_documents"), [("train", 10_001), ("test", 7_600), ("all", 17_601)]
)
def test_ag_news_subset_sizes(shared_data_home, subset, n_documents):
    data, target = fetch_ag_news(
        subset=subset, download_if_missing=False, return_X_y=True
    )
    assert len(data) == n_documents
    assert target.shape == (n_documents,)


def test_ag_news_all_is_train_then_test(shared_data_home):
    train = fetch_ag_news(subset="train", download_if_missing=False)
    test = fetch_ag_news(subset="test", download_if_missing=False)
    every = fetch_ag_news(subset="all", download_if_missing=False)
    assert every.data == train.data + test.data
    np.testing.assert_array_equal(
        every.target, np.concatenate([train.target, test.target])
    )


def test_ag_news_test_has_1900_articles_per_class(shared_data_home):
    news = fetch_ag_news(subset="test", download_if_missing=False)
    assert news.target_names == ["World", "Sports", "Business", "Sci/Tech"]
    assert np.bincount(news.target, minlength=4).tolist() == [1900] * 4


def test_ag_news_train_has_four_balanced_classes(shared_data_home):
    _, target = fetch_ag_news(download_if_missing=False, return_X_y=True)
    shares = np.bincount(target) / len(target)
    assert len(shares) == 4
    assert np.all(np.abs(shares - 0.25) < 0.01)


@pytest.mark.parametrize("subset", ["train", "test"])
def test_ag_news_matches_the_csv_module_with_quoting_disabled(shared_data_home, subset):
    with open(
        shared_data_home / "ag_news" / f"{subset}.tsv", encoding="utf-8", newline=""
    ) as file:
        rows = list(csv.reader(file, delimiter="\t", quoting=csv.QUOTE_NONE))
    news = fetch_ag_news(subset=subset, download_if_missing=False)
    assert news.data == [text for text, _ in rows]
    assert [news.target_names[label] for label in news.target] == [
        label for _, label in rows
    ]


def test_ag_news_keeps_csv_quotes_and_duplicate_articles(shared_data_home):
    data, _ = fetch_ag_news(download_if_missing=False, return_X_y=True)
    assert sum(text.startswith('"') for text in data) == 397
    assert len(data) - len(set(data)) == 13  # 11 texts twice, 1 three times


def test_ag_news_invalid_subset_raises_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"subset='validation' is not one of"):
        fetch_ag_news(subset="validation", data_home=tmp_path)


def test_ag_news_rejects_a_line_without_a_known_label(tmp_path):
    folder = tmp_path / "ag_news"
    folder.mkdir()
    (folder / "test.tsv").write_text("fine\tWorld\nno label here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"Line 2 of .*test\.tsv"):
        fetch_ag_news(subset="test", data_home=tmp_path)


# --- missing files and downloads ----------------------------------------------


def test_missing_movie_reviews_error_names_folder_and_files(tmp_path):
    with pytest.raises(OSError) as excinfo:
        fetch_movie_reviews(data_home=tmp_path, download_if_missing=False)
    message = str(excinfo.value)
    assert str(tmp_path / "movie_review_polarity" / "rt-polarity.neg") in message
    assert str(tmp_path / "movie_review_polarity" / "rt-polarity.pos") in message
    assert "rt-polaritydata.tar.gz" in message
    assert list(tmp_path.iterdir()) == []


def test_missing_ag_news_error_says_where_to_put_files_without_downloading(
    tmp_path,
):
    # download_if_missing=True, yet no URL is opened: no_network would fail.
    with pytest.raises(OSError) as excinfo:
        fetch_ag_news(subset="all", data_home=tmp_path)
    message = str(excinfo.value)
    assert str(tmp_path / "ag_news" / "train.tsv") in message
    assert str(tmp_path / "ag_news" / "test.tsv") in message
    assert "No public URL" in message


def test_download_writes_verified_files_and_loads_them(tmp_path, serve, fake_checksums):
    requests = serve(make_tar_gz(FAKE_ARCHIVE_FILES))
    reviews = fetch_movie_reviews(data_home=tmp_path)
    folder = tmp_path / "movie_review_polarity"
    assert requests == [(MOVIE_URL, _base.DOWNLOAD_TIMEOUT)]
    assert (folder / "rt-polarity.neg").read_bytes() == FAKE_NEGATIVES
    assert (folder / "rt-polarity.pos").read_bytes() == FAKE_POSITIVES
    assert sorted(path.name for path in tmp_path.rglob("*")) == [
        "movie_review_polarity",
        "rt-polarity.neg",
        "rt-polarity.pos",
    ]
    assert reviews.data[1] == "boring\x85 and long . "
    assert reviews.target.tolist() == [0, 0, 1]


def test_download_happens_only_when_files_are_missing(tmp_path, serve, fake_checksums):
    requests = serve(make_tar_gz(FAKE_ARCHIVE_FILES))
    fetch_movie_reviews(data_home=tmp_path)
    fetch_movie_reviews(data_home=tmp_path)
    assert len(requests) == 1


def test_download_writes_only_the_missing_file(tmp_path, serve, fake_checksums):
    folder = tmp_path / "movie_review_polarity"
    folder.mkdir()
    (folder / "rt-polarity.pos").write_bytes(b"my own positives\n")
    serve(make_tar_gz(FAKE_ARCHIVE_FILES))
    data, _ = fetch_movie_reviews(data_home=tmp_path, return_X_y=True)
    assert (folder / "rt-polarity.neg").read_bytes() == FAKE_NEGATIVES
    assert (folder / "rt-polarity.pos").read_bytes() == b"my own positives\n"
    assert data[-1] == "my own positives"


def test_checksum_mismatch_raises_and_leaves_nothing_behind(tmp_path, serve):
    # The real checksums do not match the fake files.
    serve(make_tar_gz(FAKE_ARCHIVE_FILES))
    with pytest.raises(OSError, match=r"SHA-256 of 'rt-polaritydata/rt-polarity"):
        fetch_movie_reviews(data_home=tmp_path)
    assert list(tmp_path.rglob("*")) == []


def test_checksum_mismatch_of_one_file_writes_neither(
    tmp_path, serve, fake_checksums, monkeypatch
):
    monkeypatch.setitem(
        _base._SHA256, "movie_review_polarity/rt-polarity.pos", "0" * 64
    )
    serve(make_tar_gz(FAKE_ARCHIVE_FILES))
    with pytest.raises(OSError, match=r"expected 0{64}"):
        fetch_movie_reviews(data_home=tmp_path)
    assert list(tmp_path.rglob("*")) == []


def test_archive_without_an_expected_file_raises(tmp_path, serve, fake_checksums):
    files = dict(FAKE_ARCHIVE_FILES)
    del files["rt-polaritydata/rt-polarity.pos"]
    serve(make_tar_gz(files))
    with pytest.raises(OSError, match=r"has no file 'rt-polaritydata/rt-polarity"):
        fetch_movie_reviews(data_home=tmp_path)
    assert list(tmp_path.rglob("*")) == []


def test_payload_that_is_not_an_archive_raises(tmp_path, serve):
    serve(b"<html>moved</html>")
    with pytest.raises(OSError, match="did not serve a readable tar archive"):
        fetch_movie_reviews(data_home=tmp_path)
    assert list(tmp_path.rglob("*")) == []


def test_offline_download_error_names_url_and_missing_files(monkeypatch, tmp_path):
    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(_base, "_urlopen", offline)
    with pytest.raises(OSError) as excinfo:
        fetch_movie_reviews(data_home=tmp_path)
    message = str(excinfo.value)
    assert f"Could not download {MOVIE_URL}" in message
    assert str(tmp_path / "movie_review_polarity" / "rt-polarity.pos") in message
    assert list(tmp_path.rglob("*")) == []


class FailingResponse:
    """A response whose body fails to arrive, as a connection dropped mid-read."""

    def __init__(self, error: Exception):
        self.error = error

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def read(self):
        raise self.error


@pytest.mark.parametrize(
    ("error", "when"),
    [
        (urllib.error.URLError(socket.gaierror(-3, "Temporary failure")), "open"),
        (
            urllib.error.HTTPError(MOVIE_URL, 503, "Service Unavailable", {}, None),
            "open",
        ),
        (TimeoutError("timed out"), "open"),
        (ConnectionRefusedError(111, "Connection refused"), "open"),
        (http.client.RemoteDisconnected("Remote end closed connection"), "open"),
        (http.client.IncompleteRead(b"partial", 1000), "read"),
        (ConnectionResetError(104, "Connection reset by peer"), "read"),
        (TimeoutError("The read operation timed out"), "read"),
    ],
    ids=[
        "dns",
        "http-503",
        "connect-timeout",
        "refused",
        "disconnected",
        "incomplete-read",
        "reset",
        "read-timeout",
    ],
)
def test_offline_movie_reviews_end_in_one_oserror_saying_what_to_do(
    monkeypatch, tmp_path, error, when
):
    def urlopen(url, timeout):
        if when == "open":
            raise error
        return FailingResponse(error)

    monkeypatch.setattr(_base, "_urlopen", urlopen)
    monkeypatch.setenv("FACTOREMBED_DATA", str(tmp_path))
    with pytest.raises(OSError) as excinfo:
        fetch_movie_reviews()
    # One exception, not a chain through urllib: its traceback is the loader's.
    assert type(excinfo.value) is OSError
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1
    assert f"Could not download {MOVIE_URL} ({error})" in message
    assert str(tmp_path / "movie_review_polarity" / "rt-polarity.neg") in message
    assert f"the data home {tmp_path} is set by FACTOREMBED_DATA" in message
    assert "point data_home= or the FACTOREMBED_DATA environment variable" in message
    assert f"download {MOVIE_URL}" in message
    assert list(tmp_path.rglob("*")) == []


@pytest.mark.parametrize("how", ["argument", "environment", "default"])
def test_missing_files_message_says_where_the_data_home_came_from(
    monkeypatch, tmp_path, how
):
    monkeypatch.delenv("FACTOREMBED_DATA", raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn"))
    data_home = tmp_path / "mine" if how == "argument" else None
    if how == "environment":
        monkeypatch.setenv("FACTOREMBED_DATA", str(tmp_path / "mine"))
    home = tmp_path / ("sklearn/factorembed" if how == "default" else "mine")
    expected = {
        "argument": "given as data_home=",
        "environment": "set by FACTOREMBED_DATA",
        "default": "the default, as neither data_home= nor FACTOREMBED_DATA is set",
    }[how]
    with pytest.raises(OSError, match="Missing data files") as excinfo:
        fetch_movie_reviews(data_home=data_home, download_if_missing=False)
    assert f"(the data home {home} is {expected})" in str(excinfo.value)


def test_offline_ag_news_is_one_oserror_in_one_line(tmp_path):
    with pytest.raises(OSError) as excinfo:
        fetch_ag_news(data_home=tmp_path)
    assert type(excinfo.value) is OSError
    assert excinfo.value.__cause__ is None and excinfo.value.__context__ is None
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1
    assert "FACTOREMBED_DATA" in message and "No public URL" in message


@pytest.mark.parametrize("kept", [0.5, 0.9])
def test_download_cut_short_is_one_oserror_and_writes_nothing(
    tmp_path, serve, fake_checksums, kept
):
    # Large random members, so that cutting the compressed archive ends inside one.
    files = {
        "rt-polaritydata/rt-polarity.neg": np.random.default_rng(0).bytes(50_000),
        "rt-polaritydata/rt-polarity.pos": np.random.default_rng(1).bytes(50_000),
    }
    payload = make_tar_gz(files)
    serve(payload[: int(len(payload) * kept)])
    with pytest.raises(OSError) as excinfo:
        fetch_movie_reviews(data_home=tmp_path)
    assert type(excinfo.value) is OSError
    assert excinfo.value.__cause__ is None
    message = str(excinfo.value)
    assert f"{MOVIE_URL} did not serve a readable tar archive" in message
    assert "Missing data files" in message
    assert list(tmp_path.rglob("*")) == []


def test_write_atomic_replaces_an_existing_file_whole(tmp_path):
    target = tmp_path / "folder" / "file.txt"
    _base._write_atomic(target, b"first")
    _base._write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [path.name for path in target.parent.iterdir()] == ["file.txt"]


# --- word-similarity benchmarks -----------------------------------------------


def count_data_lines(file_name: str) -> int:
    with open(datapath(file_name), encoding="utf-8") as file:
        return sum(1 for line in file if line.strip() and not line.startswith("#"))


@pytest.mark.parametrize(
    ("name", "file_name", "n_pairs"),
    [("wordsim353", "wordsim353.tsv", 353), ("simlex999", "simlex999.txt", 999)],
)
def test_load_word_similarity_reads_every_pair(name, file_name, n_pairs):
    benchmark = load_word_similarity(name)
    assert count_data_lines(file_name) == n_pairs
    assert benchmark.data.shape == (n_pairs, 2)
    assert all(isinstance(word, str) and word for word in benchmark.data.ravel())
    assert benchmark.target.dtype == np.float64
    assert benchmark.target.shape == (n_pairs,)
    assert 0 <= benchmark.target.min() < benchmark.target.max() <= 10


def test_load_word_similarity_keeps_the_case_of_the_file():
    pairs = {tuple(pair) for pair in load_word_similarity("wordsim353").data}
    assert ("Jerusalem", "Israel") in pairs


def test_load_word_similarity_unknown_name_raises_value_error():
    with pytest.raises(ValueError, match=r"name='men3000' is not a word-similarity"):
        load_word_similarity("men3000")


def keyed_vectors(words, vectors) -> KeyedVectors:
    table = KeyedVectors(vector_size=np.shape(vectors)[1])
    table.add_vectors(list(words), np.asarray(vectors, dtype=np.float32))
    return table


def random_table(words, seed=0) -> KeyedVectors:
    words = sorted(set(words))
    return keyed_vectors(
        words, np.random.default_rng(seed).normal(size=(len(words), 8))
    )


@pytest.mark.parametrize("direction", [1, -1])
def test_spearman_is_plus_or_minus_one_when_cosine_follows_the_score(direction):
    """Pairs linked to no other kept pair get 2-d vectors at an angle set by
    their score, so that only they are covered and cosine is monotone in score."""
    benchmark = load_word_similarity("simlex999")
    partners = {}
    for first, second in benchmark.data:
        partners.setdefault(first, set()).add(second)
        partners.setdefault(second, set()).add(first)
    kept, words, vectors = set(), [], []
    for (first, second), score in zip(benchmark.data, benchmark.target, strict=True):
        if (partners[first] | partners[second] | {first, second}) & kept:
            continue
        kept.update((first, second))
        angle = np.pi / 2 * (score / 10 if direction < 0 else 1 - score / 10)
        words += [first, second]
        vectors += [[1.0, 0.0], [np.cos(angle), np.sin(angle)]]
    result = evaluate_word_similarity(keyed_vectors(words, vectors), "simlex999")
    assert isinstance(result, WordSimilarityResult)
    assert result.spearman == pytest.approx(direction * 1.0)
    assert result.coverage == len(words) / 2 / 999
    assert 0.1 < result.coverage < 1
    assert result.n_pairs == 999


def test_coverage_drops_by_the_pairs_of_a_removed_word():
    benchmark = load_word_similarity("wordsim353")
    words = set(benchmark.data.ravel()) - {"tiger"}
    n_with_tiger = int((benchmark.data == "tiger").any(axis=1).sum())
    result = evaluate_word_similarity(random_table(words), "wordsim353")
    assert n_with_tiger > 0
    assert result.coverage == pytest.approx((353 - n_with_tiger) / 353)


def test_capitalized_benchmark_words_find_lower_case_rows():
    words = {word.lower() for word in load_word_similarity("wordsim353").data.ravel()}
    result = evaluate_word_similarity(random_table(words), "wordsim353")
    assert result.coverage == 1.0


def test_spearman_matches_scipy_on_random_vectors():
    benchmark = load_word_similarity("wordsim353")
    table = random_table(benchmark.data.ravel())
    cosines = [table.similarity(first, second) for first, second in benchmark.data]
    expected = spearmanr(benchmark.target, cosines)[0]
    result = evaluate_word_similarity(table, "wordsim353")
    assert result.spearman == pytest.approx(expected, abs=1e-6)


class TableHolder:
    """Not a KeyedVectors, but knows how to become one, like the estimator."""

    def __init__(self, table):
        self.table = table

    def to_keyedvectors(self):
        return self.table


def test_evaluate_word_similarity_accepts_an_object_with_to_keyedvectors():
    table = random_table(load_word_similarity("simlex999").data.ravel())
    assert evaluate_word_similarity(
        TableHolder(table), "simlex999"
    ) == evaluate_word_similarity(table, "simlex999")


@pytest.mark.parametrize("vectors", [np.zeros((3, 2)), TableHolder("not a table")])
def test_evaluate_word_similarity_rejects_other_objects(vectors):
    with pytest.raises(TypeError, match="expected a gensim KeyedVectors"):
        evaluate_word_similarity(vectors, "simlex999")


def test_evaluate_word_similarity_needs_two_known_pairs():
    table = keyed_vectors(["old", "new"], [[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"Only 1 of the 999 pairs of 'simlex999'"):
        evaluate_word_similarity(table, "simlex999")


# --- word analogies -----------------------------------------------------------

CAPITALS = ["athens", "berlin", "paris", "rome"]
COUNTRIES = ["greece", "germany", "france", "italy"]


def capitals_table(country_order=(0, 1, 2, 3)) -> KeyedVectors:
    """Each country is its capital plus one shared offset, in ``country_order``."""
    capitals = np.eye(5)[:4]
    countries = capitals[list(country_order)] + np.eye(5)[4]
    return keyed_vectors(CAPITALS + COUNTRIES, np.vstack([capitals, countries]))


def count_questions_on(words) -> tuple[int, int]:
    with open(datapath("questions-words.txt"), encoding="utf-8") as file:
        questions = [line.lower().split() for line in file if line[0] != ":"]
    return sum(set(question) <= set(words) for question in questions), len(questions)


def test_analogies_answered_right_when_country_offset_is_shared():
    n_covered, n_questions = count_questions_on(CAPITALS + COUNTRIES)
    result = evaluate_word_analogies(capitals_table())
    assert isinstance(result, WordAnalogyResult)
    assert result.accuracy == 1.0
    assert result.n_questions == n_questions == 19_544
    assert result.coverage == pytest.approx(n_covered / n_questions)
    assert n_covered > 0


def test_analogies_answered_wrong_when_countries_are_swapped():
    result = evaluate_word_analogies(capitals_table(country_order=(1, 0, 3, 2)))
    assert result.accuracy == 0.0


def test_evaluate_word_analogies_accepts_an_object_with_to_keyedvectors():
    result = evaluate_word_analogies(TableHolder(capitals_table()))
    assert result == evaluate_word_analogies(capitals_table())


def test_restrict_vocab_leaving_no_question_raises_value_error():
    # The first 4 words are the capitals: no question is on capitals alone.
    with pytest.raises(ValueError, match="None of the 19544 analogy questions"):
        evaluate_word_analogies(capitals_table(), restrict_vocab=4)


@pytest.mark.parametrize("restrict_vocab", [0, -5, 2.5, True])
def test_invalid_restrict_vocab_raises_value_error(restrict_vocab):
    with pytest.raises(ValueError, match=f"restrict_vocab={restrict_vocab}"):
        evaluate_word_analogies(capitals_table(), restrict_vocab=restrict_vocab)


# --- GloVe 50d, an integration test --------------------------------------------


@pytest.fixture(scope="module")
def glove_50k() -> KeyedVectors:
    """The 50,000 most frequent words of GloVe 6B 50d."""
    table = load_vectors("glove-6b-50d")
    return keyed_vectors(table.index_to_key[:50_000], table.vectors[:50_000])


@pytest.mark.parametrize(
    ("name", "file_name"),
    [("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")],
)
def test_glove_scores_agree_with_gensim_evaluate_word_pairs(glove_50k, name, file_name):
    (_, (expected_spearman, _), oov_percent) = glove_50k.evaluate_word_pairs(
        datapath(file_name), restrict_vocab=len(glove_50k)
    )
    result = evaluate_word_similarity(glove_50k, name)
    assert result.spearman == pytest.approx(expected_spearman, abs=1e-6)
    assert result.coverage == pytest.approx(1 - oov_percent / 100)
    assert result.coverage > 0.98
    assert 0.2 < result.spearman < 0.6
