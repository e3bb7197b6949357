"""Tables: the Kaggle house prices and any numeric CSV file, with the book's K-fold split."""

from .csv_table import CSVTable, TableDataModule, get_k_fold_data
from .kaggle_house import KaggleHouse

__all__ = ["CSVTable", "KaggleHouse", "TableDataModule", "get_k_fold_data"]
