"""What the book computes from networks, trained or not, beside the paper's own procedures: the costs of Table 1
counted from the model (:mod:`.costs`), receptive fields (:mod:`.receptive`), the attribution of accuracy to the
inception modules' branches (:mod:`.attribution`), the baselines of the central claim (:mod:`.baselines`), and the
statistics that turn measurements into findings with intervals (:mod:`.findings`). It imports the paper's parts
(models, data) and nothing above them: training and evaluation hand it networks and numbers."""
