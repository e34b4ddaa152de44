"""The choices of the string parameters: solvers, weightings, poolings, ...

Each tuple is defined here once, for the module that implements the choices,
the estimator's parameter validation and the console script's ``choices``. This
module imports nothing, so that ``factorembed --help`` builds its parser without
loading numpy, scipy, scikit-learn or gensim.
"""

SOLVERS = ("auto", "covariance", "full", "randomized", "qr")
WEIGHTINGS = ("frequency", "log-frequency")
POOLINGS = ("mean", "sum", "max", "tfidf", "sif", "sif-weighted")
POSTPROCESSINGS = ("abtt", "ppa")
DEFAULT_POSTPROCESS = "abtt"
SUBSPACES = ("documents", "words")
QUANTIZATIONS = ("int8", "pq")
# The spaces and file formats that FactorizedEmbedding.export writes.
SPACES = ("codes", "reconstructed")
EXPORT_FORMATS = ("word2vec", "word2vec-bin", "kv", "model2vec")
