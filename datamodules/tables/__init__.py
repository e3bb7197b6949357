"""Tables: the Kaggle house prices, the airfoil self-noise data and any numeric CSV file, with the book's K-fold
split."""

from .airfoil import Airfoil
from .csv_table import CSVTable, TableDataModule, get_k_fold_data
from .kaggle_house import KaggleHouse

__all__ = ["Airfoil", "CSVTable", "KaggleHouse", "TableDataModule", "get_k_fold_data"]
