import pytest
from augment_testing import make_graph
from torch_geometric.data import Data


@pytest.fixture
def graph() -> Data:
    return make_graph()
